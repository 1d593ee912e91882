"""SQL text shared by the feature SQL and the pipelines."""

from __future__ import annotations

# Durations are real numbers of days: epoch(interval) / SECONDS_PER_DAY (DESIGN.md section 2).
SECONDS_PER_DAY = 86_400.0


def sql_text(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
