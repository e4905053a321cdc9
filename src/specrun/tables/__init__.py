"""Tables: the cell-based IR and the table kinds that build it from results."""
