"""The spec: loading YAML with positions, its pydantic models, and validation."""
