"""Compile a valid spec into an execution plan (a DAG of hashed steps)."""
