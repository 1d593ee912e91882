"""Readers and writers at the edge: sources into the DuckDB warehouse, tables out to files."""

from __future__ import annotations

import codecs
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from features.schema import CONTRACTS, REQUIRED_TABLES, TableContract
from pipelines import postgres
from pipelines.db import scalar
from pipelines.errors import InputError
from pipelines.settings import InputSettings
from pipelines.validate import REJECTS_DDL, TableReport, validate_table

FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".txt")
DUCKDB_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-16": "utf-16",
    "latin-1": "latin-1",
    "latin1": "latin-1",
}
EMPTY_TABLES = {
    "complaints": "complaint_id VARCHAR, customer_id VARCHAR, opened_at TIMESTAMP, "
    "resolved_at TIMESTAMP",
    "customers": "customer_id VARCHAR",
}


@dataclass
class RawTable:
    """A source table loaded as-is into a temp table, with what the reader set aside."""

    source: str
    rejected_by_reader: int = 0
    row_expr: str = "rowid + 1"


def _find_file(folder: Path, stem: str) -> Path | None:
    for suffix in FILE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _utf8_copy(path: Path, encoding: str, tmp: Path) -> Path:
    """Transcode a file DuckDB cannot read natively, streaming (bytes that do not decode
    become U+FFFD and show up in the values, never a crash)."""
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(str(path), f"unknown encoding '{encoding}' in input.encoding") from exc
    out = tmp / f"{path.stem}.utf8.csv"
    with (
        path.open(encoding=encoding, errors="replace", newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        while block := src.read(1 << 20):
            dst.write(block)
    return out


def _csv_query(path: Path, opts: InputSettings, encoding: str) -> str:
    options = [
        "all_varchar = true",
        "header = true",
        "store_rejects = true",
        "rejects_table = '_csv_rejects'",
        "rejects_scan = '_csv_scans'",
        "max_line_size = 4000000",
        # RFC 4180 quoting, never sniffed: a guessed quote character can merge rows silently.
        "quote = '\"'",
        "escape = '\"'",
        f"encoding = '{encoding}'",
    ]
    if opts.delimiter:
        options.append("delim = '" + opts.delimiter.replace("'", "''") + "'")
    return f"SELECT * FROM read_csv('{path}', {', '.join(options)})"


def _reader_reason(error_type: str, message: str, encoding: str) -> str:
    if "ENCODING" in error_type or "UNICODE" in error_type:
        return f"bytes that are not valid {encoding} (set input.encoding)"
    if "COLUMNS" in error_type:
        return "wrong number of fields: " + message.strip().rstrip(".")
    return "unreadable line: " + message.strip().split(". ")[0]


def _load_csv(
    con: duckdb.DuckDBPyConnection, path: Path, raw: str, opts: InputSettings, table: str
) -> RawTable:
    if path.stat().st_size == 0:
        raise InputError(str(path), "the file is empty (expected a header line, then rows)")
    encoding = DUCKDB_ENCODINGS.get(opts.encoding.lower())
    with tempfile.TemporaryDirectory() as tmp:
        readable = path if encoding else _utf8_copy(path, opts.encoding, Path(tmp))
        con.execute("DROP TABLE IF EXISTS _csv_rejects; DROP TABLE IF EXISTS _csv_scans")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {raw} AS {_csv_query(readable, opts, encoding or 'utf-8')}"
            )
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise InputError(str(path), f"cannot be read as CSV: {first}") from exc
    con.execute(REJECTS_DDL)
    # One reject per line: DuckDB may report several errors for one line.
    rejects = con.execute(
        "SELECT line - 1, arg_min(column_name, column_idx), any_value(csv_line), "
        "arg_min(error_type, column_idx), arg_min(error_message, column_idx) "
        "FROM _csv_rejects GROUP BY line ORDER BY line"
    ).fetchall()
    for row, column, line, error_type, message in rejects:
        con.execute(
            "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?)",
            [
                table,
                str(path),
                row,
                column,
                (line or "")[:200],
                _reader_reason(str(error_type), str(message), opts.encoding),
            ],
        )
    if not rejects:
        return RawTable(str(path))
    # Rows the reader kept fill the data rows it did not reject, in order.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _reader_rows AS "
        "SELECT line - 1 - (row_number() OVER (ORDER BY line) - 1) AS adj "
        "FROM (SELECT DISTINCT line FROM _csv_rejects)"
    )
    row_expr = (
        f"{raw}.rowid + 1 + (SELECT count(*) FROM _reader_rows r WHERE r.adj <= {raw}.rowid + 1)"
    )
    return RawTable(str(path), rejected_by_reader=len(rejects), row_expr=row_expr)


def _load_file(
    con: duckdb.DuckDBPyConnection, path: Path, raw: str, opts: InputSettings, table: str
) -> RawTable:
    if path.suffix != ".parquet":
        return _load_csv(con, path, raw, opts, table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM read_parquet('{path}')")
    except duckdb.Error as exc:
        raise InputError(
            str(path), f"cannot be read as Parquet: {str(exc).strip().splitlines()[0]}"
        ) from exc
    return RawTable(str(path))


def _load_duckdb_table(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, raw: str
) -> RawTable | None:
    try:
        con.execute(f"ATTACH IF NOT EXISTS '{path}' AS src (READ_ONLY)")
    except duckdb.Error as exc:
        raise InputError(str(path), f"cannot be opened as a DuckDB database: {exc}") from exc
    found = scalar(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'src' AND table_name = ?",
        [table],
    )
    if not found:
        return None
    con.execute(f'CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM src.main."{table}"')
    return RawTable(f"{path}:{table}")


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def map_columns(
    con: duckdb.DuckDBPyConnection, raw: str, contract: TableContract, opts: InputSettings
) -> None:
    """Rename source columns to canonical names: the explicit mapping first, then names that
    differ only in case, spaces or punctuation ('Order ID' -> order_id), which is safe."""
    columns = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {raw})").fetchall()]
    mapping = dict(opts.columns.get(contract.name, {}))
    taken = set(mapping.values()) | set(columns)
    for col in columns:
        canonical = _normalise(col)
        if col not in mapping and canonical in contract.columns and canonical not in taken:
            mapping[col] = canonical
            taken.add(canonical)
    for source_name, canonical in mapping.items():
        if source_name in columns and source_name != canonical:
            con.execute(f'ALTER TABLE {raw} RENAME COLUMN "{source_name}" TO "{canonical}"')


def load_source(
    con: duckdb.DuckDBPyConnection, src: str | Path, opts: InputSettings | None = None
) -> list[TableReport]:
    """Read `orders`, `complaints`, `customers` from a folder, DuckDB file or PostgreSQL URL,
    validated into canonical tables and `rejects` in `con`."""
    opts = opts or InputSettings()
    text = str(src)
    if postgres.is_postgres(text):
        return _load_postgres(con, text, opts)
    path = Path(src)
    if not path.exists():
        raise InputError(text, "no such file or folder")

    def load_raw(name: str, raw: str) -> RawTable | None:
        stem = opts.table_name(name)
        if path.is_dir():
            found = _find_file(path, stem)
            return _load_file(con, found, raw, opts, name) if found else None
        return _load_duckdb_table(con, path, stem, raw)

    try:
        return _load_tables(con, load_raw, text, opts)
    finally:
        if path.is_file():
            con.execute("DETACH DATABASE IF EXISTS src")


def _load_postgres(
    con: duckdb.DuckDBPyConnection, url: str, opts: InputSettings
) -> list[TableReport]:
    """Each table is streamed out with COPY into a temporary CSV, then read like any CSV
    (PostgreSQL's own formats: ISO timestamps in UTC, '.' decimals)."""
    pg_opts = opts.model_copy(
        update={"delimiter": ",", "encoding": "utf-8", "decimal": ".", "timestamp_formats": []}
    )
    with tempfile.TemporaryDirectory() as tmp:

        def load_raw(name: str, raw: str) -> RawTable | None:
            dest = Path(tmp) / f"{name}.csv"
            if not postgres.export_csv(url, opts.schema_name, opts.table_name(name), dest):
                return None
            loaded = _load_csv(con, dest, raw, pg_opts, name)
            loaded.source = (
                f"{postgres._redact(url)} table {opts.schema_name}.{opts.table_name(name)}"
            )
            return loaded

        return _load_tables(con, load_raw, postgres._redact(url), opts)


def load_frames(
    con: duckdb.DuckDBPyConnection,
    frames: dict[str, pd.DataFrame],
    opts: InputSettings | None = None,
) -> list[TableReport]:
    """Validate in-memory tables (posted histories, tests) exactly like files."""

    def load_raw(name: str, raw: str) -> RawTable | None:
        if name not in frames:
            return None
        con.register("_frame", frames[name])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM _frame")
        con.unregister("_frame")
        return RawTable(f"<{name}>")

    return _load_tables(con, load_raw, "<request>", opts or InputSettings())


def _load_tables(
    con: duckdb.DuckDBPyConnection,
    load_raw: Callable[[str, str], RawTable | None],
    origin: str,
    opts: InputSettings,
) -> list[TableReport]:
    """Validate each contract table that `load_raw` finds; a missing optional table becomes
    an empty one, so everything downstream runs without complaints or customers."""
    reports = []
    con.execute("DROP TABLE IF EXISTS rejects")
    for name, contract in CONTRACTS.items():
        raw = f"_raw_{name}"
        loaded = load_raw(name, raw)
        if loaded is None:
            if name in REQUIRED_TABLES:
                stem = opts.table_name(name)
                expected = " or ".join(f"{stem}{s}" for s in FILE_SUFFIXES)
                raise InputError(
                    origin,
                    f"required table '{stem}' not found (expected {expected} or a table '{stem}')",
                )
            con.execute(f"CREATE OR REPLACE TABLE {name} ({EMPTY_TABLES[name]})")
            continue
        map_columns(con, raw, contract, opts)
        reports.append(
            validate_table(
                con, raw, contract, loaded.source, opts, loaded.row_expr, loaded.rejected_by_reader
            )
        )
        con.execute(f"DROP TABLE {raw}")
    return reports


def data_end(con: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """End of the observed data: the start of the day after the last order."""
    last = scalar(con, "SELECT max(ordered_at) FROM orders")
    if last is None:
        raise InputError("orders", "no usable orders")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


def write_table(frame: pd.DataFrame, out: Path) -> Path:
    """Write by extension (.csv, .parquet, .json, .xlsx) atomically: temp file, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    writers = {
        ".csv": lambda p: frame.to_csv(p, index=False),
        ".parquet": lambda p: frame.to_parquet(p, index=False),
        ".json": lambda p: frame.to_json(p, orient="records", date_format="iso", indent=1),
        ".xlsx": lambda p: frame.to_excel(p, index=False),
    }
    if suffix not in writers:
        raise InputError(str(out), f"unknown output format; expected one of {', '.join(writers)}")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    os.close(fd)
    try:
        writers[suffix](tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
