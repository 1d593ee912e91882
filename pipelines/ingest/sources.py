"""Sources into the DuckDB warehouse: folders of files, DuckDB files, PostgreSQL, frames.

Each source table is described (a FROM expression and its column types) and handed to
`validate_table`, which reads, parses and checks it in one scan.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from features.lines import derive_orders
from features.schema import CONTRACTS, ORDER_TABLES, RETURNED_STATUS, TableContract
from features.sql import sql_text
from pipelines import postgres
from pipelines.errors import InputError
from pipelines.ingest.categories import empty_events, keep_category_events
from pipelines.ingest.validate import RawSource, TableReport, validate_table
from pipelines.settings import InputSettings
from pipelines.warehouse import first_row, scalar

FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".txt")
DUCKDB_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-16": "utf-16",
    "latin-1": "latin-1",
    "latin1": "latin-1",
}


def _find_file(folder: Path, stem: str) -> Path | None:
    for suffix in FILE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _parquet_parts(folder: Path) -> list[Path]:
    """The Parquet files of a table written as a folder of parts (orders/part-0.parquet, ...,
    as Spark, DuckDB or `retain` write large tables), in name order, subfolders included."""
    return sorted(folder.rglob("*.parquet")) if folder.is_dir() else []


def _parts_source(
    con: duckdb.DuckDBPyConnection,
    parts: list[Path],
    folder: Path,
    contract: TableContract,
    opts: InputSettings,
) -> RawSource:
    """One source over all parts, read in the listed order (so a row's position tells its file
    and row there); columns are matched by name across parts, missing ones read as NULL."""
    files = "[" + ", ".join(sql_text(str(p)) for p in parts) + "]"
    counts = con.execute(
        f"SELECT file_name, num_rows FROM parquet_file_metadata({files})"
    ).fetchall()
    rows = {str(name): int(n) for name, n in counts}
    raw = _typed_source(
        con, f"read_parquet({files}, union_by_name = true)", str(folder), contract, opts
    )
    raw.parts = tuple((str(p), rows[str(p)]) for p in parts)
    return raw


def _name_parts(con: duckdb.DuckDBPyConnection, table: str, raw: RawSource) -> None:
    """Rejects of a table read from parts name their part file and their row in it."""
    offset = 0
    for file, rows in raw.parts:
        con.execute(
            "UPDATE rejects SET source = ?, row = row - ? "
            "WHERE table_name = ? AND source = ? AND row > ? AND row <= ?",
            [file, offset, table, raw.source, offset, offset + rows],
        )
        offset += rows


def _utf8_copy(path: Path, encoding: str, workdir: Path) -> Path:
    """Transcode a file DuckDB cannot read natively, streaming (bytes that do not decode
    become U+FFFD and show up in the values, never a crash)."""
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise InputError(str(path), f"unknown encoding '{encoding}' in input.encoding") from exc
    out = workdir / f"{path.stem}.utf8.csv"
    with (
        path.open(encoding=encoding, errors="replace", newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        while block := src.read(1 << 20):
            dst.write(block)
    return out


def _csv_options(opts: InputSettings, encoding: str) -> list[str]:
    options = [
        "header = true",
        "max_line_size = 4000000",
        # RFC 4180 quoting, never sniffed: a guessed quote character can merge rows silently.
        "quote = '\"'",
        "escape = '\"'",
        f"encoding = '{encoding}'",
    ]
    if opts.delimiter:
        options.append(f"delim = {sql_text(opts.delimiter)}")
    return options


def _csv_types(
    columns: list[str], mapping: dict[str, str], contract: TableContract, opts: InputSettings
) -> dict[str, str]:
    """Types the CSV reader parses each column to: never sniffed (ids like 00017 stay text).
    Numbers are parsed by the reader unless a decimal comma (with '.' thousands: 1.234,50) is
    set. Timestamps are read as text and parsed in validation: the common naive shape by a
    plain cast, values with an offset or zone name by the zone-aware one (which costs ~20 %
    of the whole read if applied to every value, docs/BENCHMARKS.md)."""
    types = {}
    for col in columns:
        kind = contract.columns.get(mapping.get(col, col), "text")
        if kind in ("number", "integer") and opts.decimal == ".":
            types[col] = "DOUBLE"
        else:
            types[col] = "VARCHAR"
    return types


def _csv_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    contract: TableContract,
    opts: InputSettings,
    workdir: Path,
) -> RawSource:
    if path.stat().st_size == 0:
        raise InputError(str(path), "the file is empty (expected a header line, then rows)")
    encoding = DUCKDB_ENCODINGS.get(opts.encoding.lower())
    readable = path if encoding else _utf8_copy(path, opts.encoding, workdir)
    options = _csv_options(opts, encoding or "utf-8")
    try:
        sniffed = con.execute(
            f"DESCRIBE SELECT * FROM read_csv('{readable}', all_varchar = true, ignore_errors = true, {', '.join(options)})"
        ).fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(str(path), f"cannot be read as CSV: {first}") from exc
    columns = [r[0] for r in sniffed]
    mapping = column_mapping(columns, contract, opts)
    types = _csv_types(columns, mapping, contract, opts)
    type_map = ", ".join(f"{sql_text(c)}: '{t}'" for c, t in types.items())
    options += [
        f"types = {{{type_map}}}",
        "store_rejects = true",
        "rejects_table = '_csv_rejects'",
        "rejects_scan = '_csv_scans'",
    ]
    con.execute("DROP TABLE IF EXISTS _csv_rejects; DROP TABLE IF EXISTS _csv_scans")
    return RawSource(
        source=str(path),
        from_sql=f"read_csv('{readable}', {', '.join(options)})",
        types=types,
        mapping=mapping,
        reader_rejects=True,
        encoding=opts.encoding,
    )


def _typed_source(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    source: str,
    contract: TableContract,
    opts: InputSettings,
) -> RawSource:
    """A source that carries its own types (Parquet, DuckDB tables, data frames)."""
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()
    except duckdb.Error as exc:
        raise InputError(source, f"cannot be read: {str(exc).strip().splitlines()[0]}") from exc
    types = {r[0]: r[1] for r in described}
    return RawSource(source, from_sql, types, column_mapping(list(types), contract, opts))


def _attached_table(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> str | None:
    try:
        con.execute(f"ATTACH IF NOT EXISTS '{path}' AS src (READ_ONLY)")
    except duckdb.Error as exc:
        raise InputError(str(path), f"cannot be opened as a DuckDB database: {exc}") from exc
    found = scalar(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'src' AND table_name = ?",
        [table],
    )
    return f'src.main."{table}"' if found else None


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def column_mapping(
    columns: list[str], contract: TableContract, opts: InputSettings
) -> dict[str, str]:
    """Source column -> canonical name: the explicit mapping first, then names that differ
    only in case, spaces or punctuation ('Order ID' -> order_id), which is safe."""
    mapping = {k: v for k, v in opts.columns.get(contract.name, {}).items() if k in columns}
    taken = set(mapping.values()) | {c for c in columns if c in contract.columns}
    for col in columns:
        canonical = _normalise(col)
        unmapped = col not in mapping and col not in contract.columns
        if unmapped and canonical in contract.columns and canonical not in taken:
            mapping[col] = canonical
            taken.add(canonical)
    return mapping


Loader = Callable[[str, TableContract, Path], RawSource | None]


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

    def load_raw(name: str, contract: TableContract, workdir: Path) -> RawSource | None:
        stem = opts.table_name(name)
        if path.is_dir():
            found = _find_file(path, stem)
            if found is None:
                parts = _parquet_parts(path / stem)
                return _parts_source(con, parts, path / stem, contract, opts) if parts else None
            if found.suffix == ".parquet":
                return _typed_source(con, f"read_parquet('{found}')", str(found), contract, opts)
            return _csv_source(con, found, contract, opts, workdir)
        table = _attached_table(con, path, stem)
        return _typed_source(con, table, f"{path}:{stem}", contract, opts) if table else None

    try:
        return _load_tables(con, load_raw, text, opts)
    finally:
        if path.is_file():
            con.execute("DETACH DATABASE IF EXISTS src")


def _load_postgres(
    con: duckdb.DuckDBPyConnection, url: str, opts: InputSettings
) -> list[TableReport]:
    """Each table is streamed out with COPY into a temporary CSV, then read like any CSV
    (PostgreSQL's own formats: ISO timestamps, '.' decimals; naive timestamps are in
    input.timezone, as for files)."""
    pg_opts = opts.model_copy(
        update={"delimiter": ",", "encoding": "utf-8", "decimal": ".", "timestamp_formats": []}
    )
    where = postgres.redact(url)

    def load_raw(name: str, contract: TableContract, workdir: Path) -> RawSource | None:
        dest = workdir / f"{name}.csv"
        table = opts.table_name(name)
        if not postgres.export_csv(url, opts.schema_name, table, dest):
            return None
        raw = _csv_source(con, dest, contract, pg_opts, workdir)
        raw.source = f"{where} table {opts.schema_name}.{table}"
        return raw

    return _load_tables(con, load_raw, where, opts)


def load_frames(
    con: duckdb.DuckDBPyConnection,
    frames: dict[str, pd.DataFrame],
    opts: InputSettings | None = None,
) -> list[TableReport]:
    """Validate in-memory tables (posted histories, tests) exactly like files."""
    opts = opts or InputSettings()

    def load_raw(name: str, contract: TableContract, workdir: Path) -> RawSource | None:
        if name not in frames:
            return None
        con.register(f"_frame_{name}", frames[name])
        return _typed_source(con, f"_frame_{name}", f"<{name}>", contract, opts)

    try:
        return _load_tables(con, load_raw, "<request>", opts)
    finally:
        for name in frames:
            con.unregister(f"_frame_{name}")


def _load_tables(
    con: duckdb.DuckDBPyConnection, load_raw: Loader, origin: str, opts: InputSettings
) -> list[TableReport]:
    """Validate each contract table that `load_raw` finds; a missing optional table becomes
    an empty one, so everything downstream runs without complaints or customers. A source
    gives `orders` or `order_lines`; from lines, the orders are derived (features.lines)."""
    reports = []
    con.execute("DROP TABLE IF EXISTS rejects")
    with tempfile.TemporaryDirectory() as tmp:
        found = {name: load_raw(name, c, Path(tmp)) for name, c in CONTRACTS.items()}
        _one_order_table(found, origin, opts)
        for name, contract in CONTRACTS.items():
            raw = found[name]
            if raw is None:
                con.execute(f"CREATE OR REPLACE TABLE {name} ({contract.ddl()})")
                continue
            reports.append(validate_table(con, raw, contract, opts))
            if raw.parts:
                _name_parts(con, name, raw)
    empty_events(con)
    if found["order_lines"] is not None:
        reports.append(_derive_orders(con, opts))
    return reports


def _one_order_table(found: dict[str, RawSource | None], origin: str, opts: InputSettings) -> None:
    """Exactly one of `orders` and `order_lines`."""
    names = [opts.table_name(t) for t in ORDER_TABLES]
    if all(found[t] is not None for t in ORDER_TABLES):
        raise InputError(
            origin,
            f"both '{names[0]}' and '{names[1]}' found: give orders or order lines, not both",
        )
    if all(found[t] is None for t in ORDER_TABLES):
        expected = " or ".join(
            f"{stem}{s}" for stem in names for s in (*FILE_SUFFIXES, "/*.parquet")
        )
        raise InputError(
            origin,
            f"required table '{names[0]}' (or '{names[1]}') not found "
            f"(expected {expected}, or a table of that name)",
        )


def _derive_orders(con: duckdb.DuckDBPyConnection, opts: InputSettings) -> TableReport:
    """`orders` from the validated `order_lines`, with a report of what was derived."""
    derive_orders(con, opts.credit_note_pattern, "_derived_orders")
    con.execute(f"CREATE OR REPLACE TABLE orders ({CONTRACTS['orders'].ddl()})")
    con.execute("INSERT INTO orders BY NAME SELECT * FROM _derived_orders")
    con.execute("DROP TABLE _derived_orders")
    lines, orders, returns = first_row(
        con,
        f"SELECT (SELECT count(*) FROM order_lines), count(*), "
        f"count(*) FILTER (WHERE status = '{RETURNED_STATUS}') FROM orders",
    )
    note = f"derived from {lines:,} order lines ({returns:,} returns and credit notes)"
    if (off := keep_category_events(con, opts)) is not None:
        note += f"; {off}"
    return TableReport("orders", "order_lines", orders, orders, 0, 0, note=note)
