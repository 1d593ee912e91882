"""Repeated ids: exact copies are collapsed (the first kept), conflicting versions set aside.

Runs after the row checks, on usable rows only; marks rows through `_check` like them, with
the two check numbers after the row checks (see `validate_table`).
"""

from __future__ import annotations

import duckdb

from features.schema import TableContract
from pipelines.ingest.parsing import Check, quote
from pipelines.warehouse import first_row

# Order lines carry a hash of every column of the raw row, mapped or not: two lines are copies
# only when the whole row is (a description told apart is another line, not a duplicate).
SOURCE_ROW = "_source_row"


def source_row_sql(source_columns: list[str]) -> str:
    """The hash of a raw row over all its columns, as `SOURCE_ROW`."""
    return f"hash({', '.join(quote(c) for c in source_columns)}) AS {SOURCE_ROW}"


def duplicate_checks(contract: TableContract) -> list[Check]:
    key = contract.key
    value = f"CAST({key} AS VARCHAR)"
    conflict = (
        f"duplicate {key} with different content"
        if contract.unique_key
        else f"lines of one {key} with different customer_id"
    )
    return [Check("", key, conflict, value), Check("", key, "exact duplicate", value)]


def mark_duplicates(
    con: duckdb.DuckDBPyConnection, contract: TableContract, present: list[str], n_checks: int
) -> None:
    """Duplicate ids among usable rows: all versions of an id with different content are set
    aside (none can be trusted); of exact copies the first is kept. Only keys seen more than
    once are examined, so the common case is one hash aggregation, or none at all when the
    ids are in strictly monotonic order (exports by primary key)."""
    key, table = contract.key, contract.name
    conflict, copy = n_checks + 1, n_checks + 2
    if not contract.unique_key:
        _mark_line_duplicates(con, table, present, conflict, copy)
        return
    if _strictly_monotonic(con, table, key):
        return
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dupes AS
        WITH repeated AS (
            SELECT hash({key}) AS h FROM {table} WHERE _check IS NULL GROUP BY 1 HAVING count(*) > 1
        ), candidates AS (
            SELECT rowid AS rid, {key}, hash({", ".join(present)}) AS content
            FROM {table} WHERE _check IS NULL AND hash({key}) IN (SELECT h FROM repeated)
        )
        SELECT rid,
            CASE WHEN count(DISTINCT content) OVER (PARTITION BY {key}) > 1 THEN {conflict}
                 WHEN row_number() OVER (PARTITION BY {key}, content ORDER BY rid) > 1 THEN {copy}
            END AS dup_check
        FROM candidates"""
    )
    con.execute(
        f"UPDATE {table} SET _check = d.dup_check FROM _dupes d "
        f"WHERE {table}.rowid = d.rid AND d.dup_check IS NOT NULL"
    )


def _mark_line_duplicates(
    con: duckdb.DuckDBPyConnection, table: str, present: list[str], conflict: int, copy: int
) -> None:
    """Order lines: every line of an order whose lines name different customers is set aside
    (whose order is it?); of lines equal in every column of the raw row, mapped or not, the
    first is kept, the rest are exact duplicates. Lines of one order that differ otherwise
    (in an unmapped description, say) are all kept."""
    columns = f"{', '.join(present)}, {SOURCE_ROW}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dupes AS
        WITH split AS (  -- aggregates and joins, not windows over every line or distinct
            -- counts: these spill to disk
            SELECT order_id FROM {table} WHERE _check IS NULL
            GROUP BY order_id HAVING min(customer_id) <> max(customer_id)
        ), repeated AS (
            SELECT hash({columns}) AS h FROM {table} WHERE _check IS NULL
            GROUP BY 1 HAVING count(*) > 1
        ), candidates AS (
            SELECT rowid AS rid, order_id,
                row_number() OVER (PARTITION BY {columns} ORDER BY rowid) AS copy_number
            FROM {table} WHERE _check IS NULL AND hash({columns}) IN (SELECT h FROM repeated)
        )
        SELECT t.rowid AS rid, {conflict} AS dup_check
        FROM {table} t JOIN split s ON t.order_id IS NOT DISTINCT FROM s.order_id
        WHERE t._check IS NULL
        UNION ALL
        SELECT rid, {copy} FROM candidates c
        WHERE copy_number > 1
          AND NOT EXISTS (SELECT 1 FROM split s WHERE c.order_id IS NOT DISTINCT FROM s.order_id)"""
    )
    con.execute(
        f"UPDATE {table} SET _check = d.dup_check FROM _dupes d "
        f"WHERE {table}.rowid = d.rid AND d.dup_check IS NOT NULL"
    )


def _strictly_monotonic(con: duckdb.DuckDBPyConnection, table: str, key: str) -> bool:
    """Whether the usable rows' keys, in the order scanned, strictly increase or strictly
    decrease: either proves them distinct, whatever that order is, in one streaming pass.
    The first rows are tried alone first, so unordered files skip the full pass."""

    def monotonic(rows: str) -> bool:
        rising, falling = first_row(
            con,
            f"SELECT count(*) FILTER (WHERE prev >= {key}), count(*) FILTER (WHERE prev <= {key}) "
            f"FROM (SELECT {key}, lag({key}) OVER () AS prev FROM {rows})",
        )
        return rising == 0 or falling == 0

    usable = f"(SELECT {key} FROM {table} WHERE _check IS NULL)"
    return monotonic(f"(FROM {usable} LIMIT 10000)") and monotonic(usable)
