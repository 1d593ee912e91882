"""Readers and writers at the edge: sources into the DuckDB warehouse, tables out to files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from features.schema import CONTRACTS, REQUIRED_TABLES
from pipelines.db import scalar
from pipelines.errors import InputError
from pipelines.validate import TableReport, validate_table

FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz")
EMPTY_TABLES = {
    "complaints": "complaint_id VARCHAR, customer_id VARCHAR, opened_at TIMESTAMP, "
    "resolved_at TIMESTAMP",
    "customers": "customer_id VARCHAR",
}


def _find_file(folder: Path, table: str) -> Path | None:
    for suffix in FILE_SUFFIXES:
        candidate = folder / f"{table}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _load_raw_file(con: duckdb.DuckDBPyConnection, path: Path, raw: str) -> None:
    if path.suffix == ".parquet":
        query = f"SELECT * FROM read_parquet('{path}')"
    else:
        query = f"SELECT * FROM read_csv('{path}', all_varchar = true, header = true)"
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS {query}")
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(
            str(path), f"cannot be read as {path.suffix.lstrip('.')}: {first}"
        ) from exc


def _load_raw_duckdb(con: duckdb.DuckDBPyConnection, path: Path, table: str, raw: str) -> bool:
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
        return False
    con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM src.main.{table}")
    return True


def load_source(con: duckdb.DuckDBPyConnection, src: Path) -> list[TableReport]:
    """Read `orders`, `complaints`, `customers` from a folder or DuckDB file, validated.

    Creates the canonical tables and `rejects` in `con`.
    """
    if not src.exists():
        raise InputError(str(src), "no such file or folder")

    def load_raw(name: str, raw: str) -> str | None:
        if src.is_dir():
            path = _find_file(src, name)
            if path is None:
                return None
            _load_raw_file(con, path, raw)
            return str(path)
        return f"{src}:{name}" if _load_raw_duckdb(con, src, name, raw) else None

    try:
        return _load_tables(con, load_raw, str(src))
    finally:
        if src.is_file():
            con.execute("DETACH DATABASE IF EXISTS src")


def load_frames(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]
) -> list[TableReport]:
    """Validate in-memory tables (posted histories, tests) exactly like files."""

    def load_raw(name: str, raw: str) -> str | None:
        if name not in frames:
            return None
        con.register("_frame", frames[name])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM _frame")
        con.unregister("_frame")
        return f"<{name}>"

    return _load_tables(con, load_raw, "<request>")


def _load_tables(
    con: duckdb.DuckDBPyConnection, load_raw: Callable[[str, str], str | None], origin: str
) -> list[TableReport]:
    """Validate each contract table that `load_raw` finds; a missing optional table becomes
    an empty one, so everything downstream runs without complaints or customers."""
    reports = []
    con.execute("DROP TABLE IF EXISTS rejects")
    for name, contract in CONTRACTS.items():
        raw = f"_raw_{name}"
        source = load_raw(name, raw)
        if source is None:
            if name in REQUIRED_TABLES:
                expected = " or ".join(f"{name}{s}" for s in FILE_SUFFIXES)
                raise InputError(origin, f"required table '{name}' not found (expected {expected})")
            con.execute(f"CREATE OR REPLACE TABLE {name} ({EMPTY_TABLES[name]})")
            continue
        reports.append(validate_table(con, raw, contract, source))
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
