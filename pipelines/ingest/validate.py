"""Turn a raw table into the canonical one, setting unusable rows aside with a reason.

Every row read ends up either in the clean table or in `rejects`, so
read = used + set aside holds by construction (exact duplicates are collapsed:
the extra copies are set aside with reason 'exact duplicate').
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from features.schema import (
    COMPLETED_STATUS,
    GUEST_ORDER,
    ORDER_STATUSES,
    ORDER_TABLES,
    TableContract,
)
from features.sql import sql_text
from pipelines.errors import InputError
from pipelines.ingest.duplicates import (
    SOURCE_ROW,
    duplicate_checks,
    mark_duplicates,
    source_row_sql,
)
from pipelines.ingest.parsing import Check, parse_sql, raw_sql, status_sql
from pipelines.settings import InputSettings
from pipelines.warehouse import first_row, scalar

_EXPECTED = {
    "text": "text",
    "timestamp": "a date or timestamp such as 2024-03-01 or 2024-03-01T10:15:00+01:00",
    "number": "a number such as 12.50",
    "integer": "a whole number",
}
# Money and quantity columns: optional, but when a source has one, every usable row needs a value.
VALUE_COLUMNS = {"orders": ("amount",), "order_lines": ("quantity", "unit_price", "line_amount")}
REJECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS rejects (table_name VARCHAR, source VARCHAR, "
    "row BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR)"
)


@dataclass
class RawSource:
    """A source table as DuckDB will scan it: a FROM expression and its column types."""

    source: str  # how messages name it: a file, a database table
    from_sql: str
    types: dict[str, str]  # source column -> DuckDB type as read
    mapping: dict[str, str] = field(default_factory=dict)  # source column -> canonical
    reader_rejects: bool = False  # a CSV read with store_rejects into _csv_rejects
    encoding: str = "utf-8"  # what the CSV's bytes were expected to be
    parts: tuple[tuple[str, int], ...] = ()  # (file, rows) of a table read from several files


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
    note: str = ""  # e.g. how a derived table came about

    @property
    def reconciles(self) -> bool:
        return self.read == self.used + self.set_aside

    def line(self) -> str:
        if self.note:
            return f"{self.table}: {self.used:,} {self.note}"
        dupes = (
            f" ({self.duplicates_collapsed:,} exact duplicates)"
            if self.duplicates_collapsed
            else ""
        )
        return (
            f"{self.table}: rows read {self.read:,} = used {self.used:,} "
            f"+ set aside {self.set_aside:,}{dupes}"
        )


def _shown(col: str, raw_cols: set[str]) -> str:
    """The value a reject shows: the text as read when it did not parse, else the value."""
    value = f"CAST({col} AS VARCHAR)"
    return f"coalesce(_raw_{col}, {value})" if col in raw_cols else value


def _checks(contract: TableContract, present: set[str], raw_cols: set[str]) -> list[Check]:
    """The checks in the order they are reported (the first that fails names the row)."""
    checks: list[Check] = []

    def add(condition: str, col: str, reason: str) -> None:
        value = _shown(col, raw_cols)
        checks.append(Check(condition, col, reason, value))

    for col, kind in contract.columns.items():
        if col not in present:
            continue
        unparsed = f"_raw_{col} IS NOT NULL"  # text that did not parse (see _parsed_sql)
        if col in contract.required or col in VALUE_COLUMNS.get(contract.name, ()):
            guest = col == "customer_id" and contract.name in ORDER_TABLES
            add(
                f"{col} IS NULL" + (f" AND NOT {unparsed}" if col in raw_cols else ""),
                col,
                GUEST_ORDER if guest else f"empty {col}",
            )
        if col in raw_cols:
            add(unparsed, col, f"unparseable {col}: expected {_EXPECTED[kind]}")
    if contract.name in ORDER_TABLES:
        allowed = ", ".join(f"'{s}'" for s in ORDER_STATUSES)
        add(
            f"status NOT IN ({allowed})",
            "status",
            f"unknown status: expected one of {', '.join(ORDER_STATUSES)}",
        )
    if contract.name == "orders" and "amount" in present:
        add(
            f"amount < 0 AND status = '{COMPLETED_STATUS}'",
            "amount",
            "negative amount on a completed order",
        )
    if contract.name == "order_lines" and "unit_price" in present:
        add("unit_price < 0", "unit_price", "negative unit_price (an adjustment, not a sale)")
    if contract.name == "complaints":
        if "resolved_at" in present:
            add("resolved_at < opened_at", "resolved_at", "resolved_at before opened_at")
        for col in ("severity", "satisfaction"):
            if col in present:
                add(f"{col} NOT BETWEEN 1 AND 5", col, f"{col} outside 1-5")
    return checks


def _require_columns(contract: TableContract, columns: list[str], source: str) -> None:
    for col in contract.required:
        if col not in columns:
            raise InputError(
                source,
                f"required column missing (found: {', '.join(columns) or 'none'}); "
                f"expected {_EXPECTED[contract.required[col]]}; map your column name in "
                f"[input.columns.{contract.name}] of retain.toml",
                column=col,
            )


def _require_someparse_sql(
    con: duckdb.DuckDBPyConnection, contract: TableContract, raw_cols: set[str], source: str
) -> None:
    """A required column parsed from text where no value parses has the wrong type as a whole."""
    for col in sorted(raw_cols & set(contract.required)):
        bad, parsed = first_row(con, f"SELECT count(_raw_{col}), count({col}) FROM {contract.name}")
        if bad > 0 and parsed == 0:
            sample = scalar(
                con,
                f"SELECT _raw_{col} FROM {contract.name} WHERE _raw_{col} IS NOT NULL LIMIT 1",
            )
            _whole_column_error(con, contract, source, col, sample)


def _whole_column_error(
    con: duckdb.DuckDBPyConnection, contract: TableContract, source: str, col: str, sample: object
) -> None:
    con.execute(f"DROP TABLE IF EXISTS {contract.name}")
    kind = contract.columns[col]
    raise InputError(
        source, f"no value parses (first: {sample!r}); expected {_EXPECTED[kind]}", column=col
    )


def validate_table(
    con: duckdb.DuckDBPyConnection, raw: RawSource, contract: TableContract, opts: InputSettings
) -> TableReport:
    """Create table `contract.name` from `raw` in one scan; move unusable rows to `rejects`.

    Rows keep their source order, so a row's position gives its 1-based data row in the
    source (header not counted; lines the CSV reader set aside are accounted for).
    Out: the canonical table (contract columns present, status defaulting to 'completed'
    for orders) and a report. Rejects carry table, source, row, column, value and reason.
    """
    types = {raw.mapping.get(c, c): t for c, t in raw.types.items()}
    _require_columns(contract, list(types), raw.source)
    present = [
        c
        for c in contract.columns
        if c in types or (c == "status" and contract.name in ORDER_TABLES)
    ]
    raw_cols = {
        c for c in present if types.get(c) == "VARCHAR" and contract.columns[c] not in ("text",)
    } - {"status"}
    checks = _checks(contract, set(present), raw_cols)
    parsed_sql = _parsed_sql(raw, contract, opts, present, raw_cols)
    _scan(con, raw, contract, parsed_sql, checks)
    reader_rejected = _reader_rejects(con, raw, contract) if raw.reader_rejects else 0
    loaded = int(scalar(con, f"SELECT count(*) FROM {contract.name}"))
    _require_someparse_sql(con, contract, raw_cols, raw.source)
    mark_duplicates(con, contract, present, len(checks))
    all_checks = checks + duplicate_checks(contract)
    _move_rejects(con, contract, raw.source, all_checks, raw_cols, reader_rejected)
    return _report(con, contract.name, raw.source, loaded + reader_rejected)


def _parsed_sql(
    raw: RawSource,
    contract: TableContract,
    opts: InputSettings,
    present: list[str],
    raw_cols: set[str],
) -> str:
    """SELECT of the contract's columns, parsed, from the raw source. Absent optional columns
    are typed NULLs. A column parsed from text keeps `_raw_<col>`: the text of values that
    did not parse (NULL otherwise, so the table does not carry a second copy of the column)."""
    types = {raw.mapping.get(c, c): t for c, t in raw.types.items()}
    source_of = {raw.mapping.get(c, c): c for c in raw.types}
    inner, kept = [], []
    for col in contract.columns:
        if col == "status" and contract.name in ORDER_TABLES and col not in types:
            inner.append(f"'{COMPLETED_STATUS}' AS status")  # no status column: all completed
        elif col not in present:
            inner.append(f"CAST(NULL AS {contract.sql_type(col)}) AS {col}")
        else:
            trimmed = col in (contract.key, "customer_id")  # casts ignore spaces themselves
            value = raw_sql(source_of[col], types[col], trimmed)
            kind = contract.columns[col]
            if col == "status" and contract.name in ORDER_TABLES:
                parsed = status_sql(
                    value if types[col] == "VARCHAR" else f"CAST({value} AS VARCHAR)", opts
                )
            else:
                parsed = parse_sql(value, kind, types[col], opts)
            inner.append(f"{parsed} AS {col}")
            if col in raw_cols:
                inner.append(f"{value} AS _text_{col}")
                kept.append(
                    f"CASE WHEN {col} IS NULL THEN nullif(trim(_text_{col}), '') END AS _raw_{col}"
                )
    if not contract.unique_key:
        inner.append(source_row_sql(list(raw.types)))
    if not kept:
        return f"SELECT {', '.join(inner)} FROM {raw.from_sql}"
    texts = ", ".join(f"_text_{c}" for c in sorted(raw_cols))
    return (
        f"SELECT * EXCLUDE ({texts}), {', '.join(kept)} "
        f"FROM (SELECT {', '.join(inner)} FROM {raw.from_sql})"
    )


def _scan(
    con: duckdb.DuckDBPyConnection,
    raw: RawSource,
    contract: TableContract,
    parsed_sql: str,
    checks: list[Check],
) -> None:
    """One pass: read, parse and store the number of each row's first failing check in
    `_check` (NULL = usable). Reasons and values are looked up later, for rejects only."""
    first_failing = " ".join(f"WHEN {c.condition} THEN {i}" for i, c in enumerate(checks, 1))
    check = (
        f"CAST(CASE {first_failing} END AS UTINYINT)" if first_failing else "CAST(NULL AS UTINYINT)"
    )
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {contract.name} AS SELECT *, {check} AS _check FROM ({parsed_sql})"
        )
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(raw.source, f"cannot be read: {first}") from exc


def _reader_rejects(con: duckdb.DuckDBPyConnection, raw: RawSource, contract: TableContract) -> int:
    """Lines the CSV reader could not use (bad bytes, wrong field count, a value that does not
    convert) into `rejects`, one per line; returns how many."""
    lines = con.execute(
        "SELECT line - 1, arg_min(column_name, column_idx), any_value(csv_line), "
        "arg_min(error_type, column_idx), arg_min(error_message, column_idx) "
        "FROM _csv_rejects GROUP BY line ORDER BY line"
    ).fetchall()
    con.execute(REJECTS_DDL)
    casts: dict[str, list[str]] = {}
    for row, column, line, error_type, message in lines:
        canonical = raw.mapping.get(column, column) if column else None
        reason, value = _reader_reason(
            str(error_type), str(message), canonical, contract, raw.encoding
        )
        if str(error_type) == "CAST" and canonical:
            casts.setdefault(canonical, []).append(value)
        con.execute(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?)",
            [contract.name, raw.source, row, canonical, (value or line or "")[:200], reason],
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _reader_rows AS "
        "SELECT line - 1 - (row_number() OVER (ORDER BY line) - 1) AS adj "
        "FROM (SELECT DISTINCT line FROM _csv_rejects)"
    )
    loaded = int(scalar(con, f"SELECT count(*) FROM {contract.name}"))
    for col, values in casts.items():
        if col in contract.required and loaded == 0 and len(values) == len(lines):
            _whole_column_error(con, contract, raw.source, col, values[0])
    return len(lines)


def _reader_reason(
    error_type: str, message: str, column: str | None, contract: TableContract, encoding: str
) -> tuple[str, str]:
    """(reason, value) for a line the CSV reader set aside."""
    if error_type == "CAST" and column in contract.columns:
        found = re.search(r'Could not convert string "(.*)" to', message)
        kind = contract.columns[column]
        return f"unparseable {column}: expected {_EXPECTED[kind]}", found.group(1) if found else ""
    if "ENCODING" in error_type or "UNICODE" in error_type:
        return f"bytes that are not valid {encoding} (set input.encoding)", ""
    if "COLUMNS" in error_type:
        return "wrong number of fields: " + message.strip().rstrip("."), ""
    return "unreadable line: " + message.strip().split(". ")[0], ""


def _move_rejects(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: str,
    checks: list[Check],
    raw_cols: set[str],
    reader_rejected: int,
) -> None:
    """Rejected rows into `rejects` with their source row number, then out of the table."""
    table = contract.name
    row = f"{table}.rowid + 1"
    if reader_rejected:
        row += f" + (SELECT count(*) FROM _reader_rows r WHERE r.adj <= {table}.rowid + 1)"
    reasons = "[" + ", ".join(sql_text(c.reason) for c in checks) + "]"
    columns = "[" + ", ".join(sql_text(c.column) for c in checks) + "]"
    values = " ".join(f"WHEN {i} THEN {c.value}" for i, c in enumerate(checks, 1))
    con.execute(REJECTS_DDL)
    con.execute(
        f"INSERT INTO rejects SELECT ?, ?, {row}, {columns}[_check], "
        f"left(CASE _check {values} END, 200), {reasons}[_check] "
        f"FROM {table} WHERE _check IS NOT NULL ORDER BY {table}.rowid",
        [table, source],
    )
    con.execute(f"DELETE FROM {table} WHERE _check IS NOT NULL")
    row_hash = () if contract.unique_key else (SOURCE_ROW,)
    for helper in ("_check", *row_hash, *(f"_raw_{c}" for c in sorted(raw_cols))):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {helper}")


def _report(con: duckdb.DuckDBPyConnection, table: str, source: str, read: int) -> TableReport:
    used = int(scalar(con, f"SELECT count(*) FROM {table}"))
    by_reason = dict(
        con.execute(
            "SELECT reason, count(*) FROM rejects WHERE table_name = ? GROUP BY reason ORDER BY 2 DESC, 1",
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
