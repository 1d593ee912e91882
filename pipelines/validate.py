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
from pipelines.settings import InputSettings

ORDER_STATUSES = ("completed", "returned", "cancelled")
_EXPECTED = {
    "text": "text",
    "timestamp": "a date or timestamp such as 2024-03-01 or 2024-03-01T10:15:00+01:00",
    "number": "a number such as 12.50",
    "integer": "a whole number",
}
# A time of day followed by a UTC offset or Z: such values carry their own time zone.
_OFFSET = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
REJECTS_DDL = (
    "CREATE TABLE IF NOT EXISTS rejects (table_name VARCHAR, source VARCHAR, "
    "row BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR)"
)


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
        dupes = (
            f" ({self.duplicates_collapsed:,} exact duplicates)"
            if self.duplicates_collapsed
            else ""
        )
        return (
            f"{self.table}: rows read {self.read:,} = used {self.used:,} "
            f"+ set aside {self.set_aside:,}{dupes}"
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _raw(col: str, source_type: str) -> str:
    """The value as read: trimmed text with '' as NULL for text columns, else as typed."""
    if source_type == "VARCHAR":
        return f"nullif(trim({_quote(col)}), '')"
    return _quote(col)


def _parse_timestamp(raw: str, source_type: str, opts: InputSettings) -> str:
    """A naive UTC timestamp. Values with an offset keep it; naive ones are in opts.timezone."""

    def to_utc(naive: str) -> str:
        if opts.timezone == "UTC":
            return naive
        return f"timezone('UTC', timezone({_sql_text(opts.timezone)}, {naive}))"

    if source_type == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {raw})"
    if source_type != "VARCHAR":
        return to_utc(f"TRY_CAST({raw} AS TIMESTAMP)")
    naive = f"TRY_CAST({raw} AS TIMESTAMP)"
    if opts.timestamp_formats:
        formats = ", ".join(_sql_text(f) for f in opts.timestamp_formats)
        naive = f"coalesce(try_strptime({raw}, [{formats}]), {naive})"
    return (
        f"CASE WHEN regexp_matches({raw}, '{_OFFSET}') "
        f"THEN timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ)) ELSE {to_utc(naive)} END"
    )


def _parse(raw: str, kind: str, source_type: str, opts: InputSettings) -> str:
    if kind == "text":
        return raw if source_type == "VARCHAR" else f"nullif(trim(CAST({raw} AS VARCHAR)), '')"
    if kind == "timestamp":
        return _parse_timestamp(raw, source_type, opts)
    number = raw
    if source_type == "VARCHAR" and opts.decimal == ",":
        number = f"replace(replace(replace({raw}, ' ', ''), '.', ''), ',', '.')"
    if kind == "number":
        return f"TRY_CAST({number} AS DOUBLE)"
    return f"TRY_CAST(TRY_CAST({number} AS DOUBLE) AS INTEGER)"


def _status(raw: str, opts: InputSettings) -> str:
    cases = " ".join(
        f"WHEN {_sql_text(k)} THEN {_sql_text(v)}" for k, v in sorted(opts.statuses().items())
    )
    return (
        f"CASE WHEN {raw} IS NULL THEN '{COMPLETED_STATUS}' "
        f"ELSE CASE lower({raw}) {cases} ELSE lower({raw}) END END"
    )


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
                f"expected {_EXPECTED[contract.required[col]]}; map your column name in "
                f"[input.columns.{contract.name}] of retain.toml",
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
                con,
                f"SELECT CAST(_raw_{col} AS VARCHAR) FROM _typed WHERE _raw_{col} IS NOT NULL LIMIT 1",
            )
            raise InputError(
                source,
                f"no value parses (first: {sample!r}); expected {_EXPECTED[kind]}",
                column=col,
            )


def validate_table(
    con: duckdb.DuckDBPyConnection,
    raw: str,
    contract: TableContract,
    source: str,
    opts: InputSettings,
    row_expr: str = "rowid + 1",
    rejected_by_reader: int = 0,
) -> TableReport:
    """Create table `contract.name` from table `raw`; append unusable rows to `rejects`.

    In: `raw` with canonical column names and any types (CSV read as text, Parquet typed).
    `row_expr` gives each row's 1-based data row in the source (header not counted);
    `rejected_by_reader` counts rows the file reader already set aside (in `rejects`).
    Out: the canonical table (contract columns present, status defaulting to 'completed'
    for orders) and a report. Rejects carry table, source, row, column, value and reason.
    """
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {raw})").fetchall())
    _require_columns(contract, list(types), source)
    present = [
        c for c in contract.columns if c in types or (c == "status" and contract.name == "orders")
    ]
    select = [f"{row_expr} AS _row"]
    for col in present:
        if col not in types:  # orders without a status column: all completed
            select += [f"'{COMPLETED_STATUS}' AS status", "NULL AS _raw_status"]
            continue
        value = _raw(col, types[col])
        kind = contract.columns[col]
        parsed = _status(value, opts) if col == "status" else _parse(value, kind, types[col], opts)
        select += [f"{parsed} AS {col}", f"{value} AS _raw_{col}"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT {', '.join(select)} FROM {raw}")
    _require_some_parse(con, contract, source)
    _classify(con, contract, present, _checks(contract, set(present)))
    _write_outputs(con, contract, present, source)
    read = int(scalar(con, "SELECT count(*) FROM _typed")) + rejected_by_reader
    return _report(con, contract.name, source, read)


def _classify(
    con: duckdb.DuckDBPyConnection,
    contract: TableContract,
    present: list[str],
    checks: list[tuple[str, str, str]],
) -> None:
    """Give each row of `_typed` its reason (NULL = usable); duplicates are looked for only
    among keys that occur more than once, which keeps the common case a single scan."""

    def case(pick: int) -> str:
        if not checks:
            return "NULL"
        whens = " ".join(
            f"WHEN {c[0]} THEN " + (_sql_text(c[pick]) if pick else f"CAST(_raw_{c[1]} AS VARCHAR)")
            for c in checks
        )
        return f"CASE {whens} END"

    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _checked AS
        SELECT *, {case(2)} AS _reason, {case(1)} AS _column, {case(0)} AS _value FROM _typed"""
    )
    key = contract.key
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _dupes AS
        WITH repeated AS (
            SELECT {key} FROM _checked WHERE _reason IS NULL GROUP BY {key} HAVING count(*) > 1
        ), rows AS (
            SELECT c._row, c.{key}, hash({", ".join("c." + p for p in present)}) AS _content
            FROM _checked c SEMI JOIN repeated r ON c.{key} = r.{key}
            WHERE c._reason IS NULL
        )
        SELECT _row,
            CASE WHEN count(DISTINCT _content) OVER (PARTITION BY {key}) > 1
                 THEN 'duplicate {key} with different content'
                 WHEN row_number() OVER (PARTITION BY _content ORDER BY _row) > 1
                 THEN 'exact duplicate' END AS _dup_reason,
            CAST({key} AS VARCHAR) AS _dup_value
        FROM rows"""
    )


def _write_outputs(
    con: duckdb.DuckDBPyConnection, contract: TableContract, present: list[str], source: str
) -> None:
    has_dupes = bool(scalar(con, "SELECT count(*) FROM _dupes WHERE _dup_reason IS NOT NULL"))
    dupes_join = "LEFT JOIN _dupes d USING (_row)" if has_dupes else ""
    dup_reason = "d._dup_reason" if has_dupes else "NULL"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW _classified AS
        SELECT c.*, coalesce(c._reason, {dup_reason}) AS _final_reason,
            CASE WHEN c._reason IS NULL AND {dup_reason} IS NOT NULL THEN '{contract.key}'
                 ELSE c._column END AS _final_column,
            CASE WHEN c._reason IS NULL AND {dup_reason} IS NOT NULL
                 THEN {"d._dup_value" if has_dupes else "NULL"} ELSE c._value END AS _final_value
        FROM _checked c {dupes_join}"""
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {contract.name} AS "
        f"SELECT {', '.join(present)} FROM _classified WHERE _final_reason IS NULL ORDER BY _row"
    )
    con.execute(REJECTS_DDL)
    con.execute(
        "INSERT INTO rejects SELECT ?, ?, _row, _final_column, left(_final_value, 200), _final_reason "
        "FROM _classified WHERE _final_reason IS NOT NULL ORDER BY _row",
        [contract.name, source],
    )


def _report(con: duckdb.DuckDBPyConnection, table: str, source: str, read: int) -> TableReport:
    used = int(scalar(con, f"SELECT count(*) FROM {table}"))
    by_reason = dict(
        con.execute(
            "SELECT reason, count(*) FROM rejects WHERE table_name = ? GROUP BY reason ORDER BY 2 DESC, 1",
            [table],
        ).fetchall()
    )
    set_aside = sum(by_reason.values())
    return TableReport(
        table=table,
        source=source,
        read=read,
        used=used,
        set_aside=set_aside,
        duplicates_collapsed=by_reason.get("exact duplicate", 0),
        set_aside_by_reason=by_reason,
    )
