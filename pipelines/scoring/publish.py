"""The lookup file the scoring API reads: one DuckDB file per scoring run, swapped atomically.

A long-running service must not hold the warehouse that `retain score` writes at night: each
run writes a new file `lookup-<run>.duckdb` (scores sorted by customer_id, so a point lookup
reads one block, plus the rank and history fields a CRM application shows), then replaces the
one-line pointer `lookup.current` with its name (a rename: readers see the old run or the new
one, never half). The service reopens the file the pointer names when it changes; the file
before the current one is kept, for requests still reading it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from features.sql import sql_text
from pipelines.home import LOOKUP_TABLE

KEEP_FILES = 2


def publish_lookup(
    con: duckdb.DuckDBPyConnection, scores: Path, features: Path, pointer: Path
) -> Path:
    """Write the lookup file of this run from its scores and features files (Parquet, read
    by DuckDB: nothing whole in pandas) and point `pointer` at it; returns the file. The file
    is attached to `con`, so the work shares that connection's memory limit."""
    folder = pointer.parent
    folder.mkdir(parents=True, exist_ok=True)
    path = (
        folder / f"lookup-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}.duckdb"
    )
    alias = f"_lookup_{uuid.uuid4().hex[:8]}"
    con.execute(f"ATTACH {sql_text(str(path))} AS {alias}")
    try:
        con.execute(
            f"""CREATE TABLE {alias}.{LOOKUP_TABLE} AS
            SELECT s.*,
                greatest(ceil(100 * percent_rank() OVER (ORDER BY s.churn_probability)), 1)
                    AS percentile,
                greatest(ceil(1000 * percent_rank() OVER (ORDER BY s.churn_probability)), 1)
                    AS permille,
                f.* EXCLUDE (customer_id)
            FROM read_parquet({sql_text(str(scores))}) s
            LEFT JOIN ({_history_fields(features)}) f USING (customer_id)
            ORDER BY s.customer_id"""
        )
        # Point lookups by index; past the memory limit, without one: the table is sorted by
        # id, so a lookup still reads a single row group (zone maps).
        with contextlib.suppress(duckdb.OutOfMemoryException):
            con.execute(
                f"CREATE UNIQUE INDEX {LOOKUP_TABLE}_id ON {alias}.{LOOKUP_TABLE} (customer_id)"
            )
        con.execute(
            f"CREATE TABLE {alias}.{LOOKUP_TABLE}_run AS SELECT any_value(model_version) "
            "AS model_version, any_value(as_of) AS as_of, any_value(scored_at) AS scored_at "
            f"FROM {alias}.{LOOKUP_TABLE}"
        )
    finally:
        con.execute(f"DETACH {alias}")
    _point(pointer, path.name)
    _prune(folder, path)
    return path


def _history_fields(features: Path) -> str:
    """What a CRM profile shows beside the scores (Klaviyo's fields), from the features."""
    return f"""SELECT CAST(customer_id AS VARCHAR) AS customer_id,
            mean_days_between_orders AS average_days_between_orders,
            net_avg_order_value AS average_order_value,
            net_spend_total AS historic_clv
        FROM read_parquet({sql_text(str(features))})"""


def _point(pointer: Path, name: str) -> None:
    temporary = pointer.with_name(f".{pointer.name}.{uuid.uuid4().hex[:6]}")
    temporary.write_text(name + "\n")
    os.replace(temporary, pointer)


def _prune(folder: Path, current: Path) -> None:
    """Keep the current file and the one before (requests may still read it)."""
    older = sorted(p for p in folder.glob("lookup-*.duckdb") if p != current)
    for stale in older[: max(0, len(older) - (KEEP_FILES - 1))]:
        stale.unlink(missing_ok=True)
        Path(f"{stale}.wal").unlink(missing_ok=True)
