"""Turn a raw table into the canonical one, setting unusable rows aside with a reason.

Every row read ends up either in the clean table or in `rejects`, so
read = used + set aside holds by construction (exact duplicates are collapsed:
the extra copies are set aside with reason 'exact duplicate').
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from features.schema import COMPLETED_STATUS, TableContract
from pipelines.db import first_row, scalar
from pipelines.errors import InputError

ORDER_STATUSES = ("completed", "returned", "cancelled")
_EXPECTED = {
    "text": "text",
    "timestamp": "a date or timestamp such as 2024-03-01 or 2024-03-01T10:15:00+01:00",
    "number": "a number such as 12.50",
    "integer": "a whole number",
}


@dataclass
class TableReport:
    """Row accounting for one table."""

    table: str
    source: str
    read: int
    used: int
    set_aside: int
    duplicates_collapsed: int
    set_aside_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.read == self.used + self.set_aside

    def line(self) -> str:
        return (
            f"{self.table}: rows read {self.read:,} = used {self.used:,} "
            f"+ set aside {self.set_aside:,}"
            + (
                f" ({self.duplicates_collapsed:,} exact duplicates)"
                if self.duplicates_collapsed
                else ""
            )
        )


def _text(col: str) -> str:
    return f"nullif(trim(CAST({col} AS VARCHAR)), '')"


def _parsed(col: str, kind: str) -> str:
    raw = _text(col)
    if kind == "text":
        return raw
    if kind == "timestamp":
        return f"CAST(TRY_CAST({raw} AS TIMESTAMPTZ) AS TIMESTAMP)"
    if kind == "number":
        return f"TRY_CAST({raw} AS DOUBLE)"
    return f"TRY_CAST(TRY_CAST({raw} AS DOUBLE) AS INTEGER)"


def _checks(contract: TableContract, present: set[str]) -> list[tuple[str, str, str]]:
    """(condition on the parsed row, column, reason) in the order they are reported."""
    checks: list[tuple[str, str, str]] = []
    for col, kind in contract.columns.items():
        if col not in present:
            continue
        if col in contract.required:
            checks.append((f"_raw_{col} IS NULL", col, f"empty {col}"))
        if kind != "text":
            checks.append(
                (
                    f"_raw_{col} IS NOT NULL AND {col} IS NULL",
                    col,
                    f"unparseable {col}: expected {_EXPECTED[kind]}",
                )
            )
    if contract.name == "orders":
        if "status" in present:
            allowed = ", ".join(f"'{s}'" for s in ORDER_STATUSES)
            checks.append(
                (
                    f"status NOT IN ({allowed})",
                    "status",
                    f"unknown status: expected one of {', '.join(ORDER_STATUSES)}",
                )
            )
        checks.append(
            (
                f"amount < 0 AND status = '{COMPLETED_STATUS}'",
                "amount",
                "negative amount on a completed order",
            )
        )
    if contract.name == "complaints":
        if "resolved_at" in present:
            checks.append(
                ("resolved_at < opened_at", "resolved_at", "resolved_at before opened_at")
            )
        for col in ("severity", "satisfaction"):
            if col in present:
                checks.append((f"{col} NOT BETWEEN 1 AND 5", col, f"{col} outside 1-5"))
    return checks


def _require_columns(contract: TableContract, columns: list[str], source: str) -> None:
    for col in contract.required:
        if col not in columns:
            raise InputError(
                source,
                f"required column missing (found: {', '.join(columns) or 'none'}); "
                f"expected {_EXPECTED[contract.required[col]]}",
                column=col,
            )


def _require_some_parse(
    con: duckdb.DuckDBPyConnection, contract: TableContract, source: str
) -> None:
    """A required typed column where no value parses is a wrong type for the whole column."""
    for col, kind in contract.required.items():
        if kind == "text":
            continue
        bad, total = first_row(
            con, f"SELECT count(*) FILTER (WHERE {col} IS NULL), count(_raw_{col}) FROM _typed"
        )
        if total > 0 and bad >= total:
            sample = scalar(
                con, f"SELECT _raw_{col} FROM _typed WHERE _raw_{col} IS NOT NULL LIMIT 1"
            )
            raise InputError(
                source,
                f"no value parses (first: {sample!r}); expected {_EXPECTED[kind]}",
                column=col,
            )


def validate_table(
    con: duckdb.DuckDBPyConnection, raw: str, contract: TableContract, source: str
) -> TableReport:
    """Create table `contract.name` from table `raw`; append unusable rows to `rejects`.

    In: `raw` with any column types (CSV read as text, Parquet typed), insertion-ordered.
    Out: the canonical table (contract columns present in the input, status defaulting
    to 'completed' for orders) and a report. Rejects carry table, source, row (1-based
    data row), column, value and reason.
    """
    columns = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall()]
    _require_columns(contract, columns, source)
    present = {c for c in contract.columns if c in columns}
    if contract.name == "orders":
        present.add("status")
    typed_cols = []
    for col in sorted(present, key=list(contract.columns).index):
        kind = contract.columns[col]
        if col == "status" and "status" not in columns:
            typed_cols += [f"'{COMPLETED_STATUS}' AS status", "NULL AS _raw_status"]
            continue
        expr = _parsed(col, kind)
        if col == "status":
            expr = f"coalesce(lower({expr}), '{COMPLETED_STATUS}')"
        typed_cols += [f"{expr} AS {col}", f"{_text(col)} AS _raw_{col}"]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _typed AS "
        f"SELECT rowid + 1 AS _row, {', '.join(typed_cols)} FROM {raw}"
    )
    _require_some_parse(con, contract, source)
    _classify(con, contract, present, source)
    return _report(con, contract.name, source)


def _classify(
    con: duckdb.DuckDBPyConnection, contract: TableContract, present: set[str], source: str
) -> None:
    checks = _checks(contract, present)
    canon = [c for c in contract.columns if c in present]
    reason = " ".join(f"WHEN {cond} THEN '{why}'" for cond, _, why in checks)
    column = " ".join(f"WHEN {cond} THEN '{col}'" for cond, col, _ in checks)
    value = " ".join(f"WHEN {cond} THEN _raw_{col}" for cond, col, _ in checks)
    case = (lambda body: f"CASE {body} END") if checks else (lambda body: "NULL")
    key = contract.key
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _classified AS
        WITH checked AS (
            SELECT *, {case(reason)} AS _reason, {case(column)} AS _column,
                   {case(value)} AS _value,
                   hash({", ".join(canon)}) AS _content
            FROM _typed
        ), ranked AS (
            SELECT *,
              CASE WHEN _reason IS NULL THEN
                row_number() OVER (PARTITION BY _content, _reason IS NULL ORDER BY _row) END AS _copy,
              CASE WHEN _reason IS NULL THEN
                count(DISTINCT _content) OVER (PARTITION BY {key}, _reason IS NULL) END AS _versions
            FROM checked
        )
        SELECT * REPLACE (
            CASE WHEN _reason IS NOT NULL THEN _reason
                 WHEN _versions > 1 THEN 'duplicate {key} with different content'
                 WHEN _copy > 1 THEN 'exact duplicate' END AS _reason,
            CASE WHEN _reason IS NOT NULL THEN _column
                 WHEN _versions > 1 OR _copy > 1 THEN '{key}' END AS _column,
            CASE WHEN _reason IS NOT NULL THEN _value
                 WHEN _versions > 1 OR _copy > 1 THEN CAST({key} AS VARCHAR) END AS _value)
        FROM ranked
        """
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {contract.name} AS "
        f"SELECT {', '.join(canon)} FROM _classified WHERE _reason IS NULL ORDER BY _row"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS rejects (table_name VARCHAR, source VARCHAR, "
        "row BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR)"
    )
    con.execute("DELETE FROM rejects WHERE table_name = ?", [contract.name])
    con.execute(
        "INSERT INTO rejects SELECT ?, ?, _row, _column, _value, _reason "
        "FROM _classified WHERE _reason IS NOT NULL ORDER BY _row",
        [contract.name, source],
    )


def _report(con: duckdb.DuckDBPyConnection, table: str, source: str) -> TableReport:
    read = int(scalar(con, "SELECT count(*) FROM _typed"))
    used = int(scalar(con, f"SELECT count(*) FROM {table}"))
    by_reason = dict(
        con.execute(
            "SELECT reason, count(*) FROM rejects WHERE table_name = ? GROUP BY reason ORDER BY 2 DESC",
            [table],
        ).fetchall()
    )
    return TableReport(
        table=table,
        source=source,
        read=read,
        used=used,
        set_aside=sum(by_reason.values()),
        duplicates_collapsed=by_reason.get("exact duplicate", 0),
        set_aside_by_reason=by_reason,
    )
