"""DuckDB connections and the one way we read single values from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC (file-backed when `path` is given)."""
    if path is not None and not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    return con


def first_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> tuple[Any, ...]:
    """The first row of a query, reading the result to the end (DuckDB 2 refuses new work
    on a connection whose last result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return tuple(rows[0]) if rows else ()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = first_row(con, sql, params)
    return row[0] if row else None


def hand_back_memory(con: duckdb.DuckDBPyConnection, limit: str) -> None:
    """Before the pandas half of a job, make DuckDB evict the blocks it keeps cached up to its
    memory limit: lowering the limit evicts them, then `limit` (the configured value; the
    displayed one is rounded) is set again. Scoring 6.6M customers peaked at 22.9 GB without."""
    con.execute("SET memory_limit = '64MB'")
    con.execute("SET memory_limit = ?", [limit])
