"""Reading data sources and the safe expression language."""
