"""SQL text shared by the feature SQL and the pipelines."""

from __future__ import annotations


def sql_text(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
