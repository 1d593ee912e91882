"""SQL text shared by the feature SQL and the pipelines."""

from __future__ import annotations

# Durations are real numbers of days (docs/ARCHITECTURE.md, time rules), from microseconds since the epoch:
# exact, and the same on DuckDB and Spark (features.dialects).
MICROSECONDS_PER_DAY = 86_400_000_000.0


def days_between(later: str, earlier: str) -> str:
    """SQL for the days from timestamp `earlier` to timestamp `later`, as a real number
    (DOUBLE on both engines: Spark would make the quotient a 6-digit DECIMAL)."""
    return f"CAST(epoch_us({later}) - epoch_us({earlier}) AS DOUBLE) / {MICROSECONDS_PER_DAY!r}"


def sql_text(value: str) -> str:
    """`value` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def gaps_of(ages: str) -> str:
    """SQL list of the gaps between consecutive entries of a sorted list of event ages."""
    return (
        f"list_transform(range(1, array_length({ages})), "
        f"lambda i: list_extract({ages}, i + 1) - list_extract({ages}, i))"
    )
