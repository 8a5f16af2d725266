"""Small helpers for the SQL the Python steps send to DuckDB."""

from __future__ import annotations


def literal(text: str) -> str:
    """A SQL string literal of any text (quotes doubled): file paths, segment names."""
    return "'" + text.replace("'", "''") + "'"
