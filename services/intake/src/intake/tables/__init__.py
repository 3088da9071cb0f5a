"""Reads and writes of intake's busiest tables as named functions, one module per table, on statements built once."""
