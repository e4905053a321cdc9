"""Table options, one module per table kind (its pydantic spec model), each registering its kind
in ``TABLES`` with a lazy reference to its builder: validating a spec imports no builder."""
