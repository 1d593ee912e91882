"""The customer x category event table kept beside the orders derived from order lines.

Categories come from the lines' `category`, else from the optional `input.category_map` file
(product_id -> category, CSV or Parquet). Without either the table stays empty and the
category features and curves are off; the load's note says so once."""

from __future__ import annotations

from pathlib import Path

import duckdb

from features.categories import CATEGORY_EVENTS, EVENTS_DDL, category_events_sql
from features.sql import sql_text
from pipelines.errors import InputError
from pipelines.settings import InputSettings

CATEGORY_MAP = "_category_map"
CATEGORIES_OFF = (
    "category features and curves are off: the order lines have no category and no "
    "input.category_map names one per product"
)


def empty_events(con: duckdb.DuckDBPyConnection) -> None:
    """An empty event table: a load of orders (not lines) keeps no categories."""
    con.execute(f"CREATE OR REPLACE TABLE {CATEGORY_EVENTS} ({EVENTS_DDL})")


def keep_category_events(con: duckdb.DuckDBPyConnection, opts: InputSettings) -> str | None:
    """Fill the event table from the validated `order_lines`; returns why categories are off
    (None when events were kept)."""
    empty_events(con)
    mapped = _load_map(con, opts.category_map) if opts.category_map else None
    con.execute(
        f"INSERT INTO {CATEGORY_EVENTS} BY NAME "
        f"{category_events_sql(opts.credit_note_pattern, mapped)}"
    )
    con.execute(f"DROP TABLE IF EXISTS {CATEGORY_MAP}")
    kept = con.execute(f"SELECT count(*) FROM {CATEGORY_EVENTS}").fetchall()[0][0]
    return None if kept else CATEGORIES_OFF


def _load_map(con: duckdb.DuckDBPyConnection, path: str) -> str:
    """The map as a table of distinct product ids (the first category by name when a product
    is mapped twice); a file that cannot serve stops the load (exit 2)."""
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "input.category_map: no such file")
    reader = "read_parquet" if file.suffix == ".parquet" else "read_csv_auto"
    try:
        columns = {
            str(r[0])
            for r in con.execute(
                f"DESCRIBE SELECT * FROM {reader}({sql_text(str(file))})"
            ).fetchall()
        }
    except duckdb.Error as exc:
        raise InputError(path, f"input.category_map cannot be read ({exc})") from None
    if not {"product_id", "category"} <= columns:
        raise InputError(path, "input.category_map needs the columns product_id and category")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CATEGORY_MAP} AS "
        "SELECT CAST(product_id AS VARCHAR) AS product_id, min(CAST(category AS VARCHAR)) "
        f"AS category FROM {reader}({sql_text(str(file))}) WHERE category IS NOT NULL "
        "GROUP BY 1"
    )
    return CATEGORY_MAP
