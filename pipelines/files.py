"""Files at the edge: tables written atomically by extension, lists read back."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.sql import sql_text
from pipelines.errors import InputError


def read_rows_of(
    path: Path,
    customer_ids: list[str],
    columns: list[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The rows of these customers from a Parquet file (the scored features of tens of
    millions): DuckDB streams the file through a join on the ids, so memory is the rows
    found, not the file (a pyarrow filtered read decodes every column of every row group)."""
    own = con is None
    db = duckdb.connect() if con is None else con
    name = f"_ids_{os.getpid()}_{id(customer_ids)}"
    listed = "*" if columns is None else ", ".join(dict.fromkeys(["customer_id", *columns]))
    db.register(name, pd.DataFrame({"customer_id": pd.Series(customer_ids, dtype=object)}))
    try:
        source = f"read_parquet({sql_text(str(path))})"
        return (
            db.sql(
                f"SELECT {listed} FROM {source} "
                f"WHERE customer_id IN (SELECT customer_id FROM {name})"
            )
            .to_arrow_table()
            .to_pandas()
        )
    finally:
        db.unregister(name)
        if own:
            db.close()


def read_list(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A list written by `retain risk-list` / `due-list` (CSV, XLSX or Parquet), ids as text."""
    if not path.exists():
        raise InputError(str(path), "no such file")
    readers = {
        ".xlsx": lambda: pd.read_excel(path, sheet_name=0, dtype={"customer_id": str}),
        ".parquet": lambda: pd.read_parquet(path),
        ".csv": lambda: pd.read_csv(path, dtype={"customer_id": str}),
    }
    if path.suffix not in readers:
        raise InputError(str(path), f"unknown list format; expected one of {', '.join(readers)}")
    listed = readers[path.suffix]()
    if path.suffix != ".parquet" and "customer_id" in listed:  # as written: escaped ids back
        listed["customer_id"] = listed["customer_id"].map(_unquoted)
    for column in required:
        if column not in listed:
            raise InputError(str(path), "not a list made by `retain risk-list`", column=column)
    return listed


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet may run such a cell


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that start like a formula get a leading single quote (OWASP's CSV-injection
    rule), so a list id or customer id such as '=HYPERLINK(...)' stays text in Excel or
    Sheets. Numbers are never changed: a negative amount stays a number."""
    safe = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            safe[column] = values.map(_quoted)
    return safe


def _quoted(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _unquoted(value: object) -> object:
    """A cell `spreadsheet_safe` escaped, as it was."""
    escaped = isinstance(value, str) and value.startswith("'") and value[1:2] in FORMULA_STARTS
    return value[1:] if escaped and isinstance(value, str) else value


EXCEL_MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, less the header


def _fits_excel(rows: int, out: Path) -> None:
    """Refuse before any work: Excel would not open a longer sheet (openpyxl writes it anyway)."""
    if rows > EXCEL_MAX_ROWS:
        raise InputError(
            str(out),
            f"{rows:,} rows do not fit an Excel sheet ({EXCEL_MAX_ROWS:,} at most); "
            "write .csv or .parquet instead",
        )


def write_xlsx(
    sheets: dict[str, pd.DataFrame], out: Path, formats: dict[str, str] | None = None
) -> Path:
    """Workbook with one sheet per frame, atomically. Every text cell is stored as text, so a
    value like '=HYPERLINK(...)' stays data and never becomes a live formula; `formats` gives
    a column (by its header) an Excel number format, e.g. '0.0%'."""
    from openpyxl import Workbook

    for frame in sheets.values():
        _fits_excel(len(frame), out)
    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name[:31])
        sheet.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in row])
        shown = [(formats or {}).get(str(c)) for c in frame.columns]
        for cells in sheet.iter_rows(min_row=2):
            for cell, number_format in zip(cells, shown, strict=False):
                if isinstance(cell.value, str):
                    cell.data_type = "s"
                elif number_format and isinstance(cell.value, int | float):
                    cell.number_format = number_format
    return _atomic(out, lambda tmp: book.save(tmp))


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _atomic(out: Path, write: Callable[[str], object]) -> Path:
    """Write to a temporary name beside `out`, then rename: readers see old or new, never half."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def write_relation(rel: duckdb.DuckDBPyRelation, out: Path) -> Path:
    """Write a DuckDB relation by extension, atomically. Parquet and CSV are written by
    DuckDB itself (no pandas copy: memory stays flat at any size); JSON and Excel via pandas."""
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        return _atomic(out, lambda p: rel.write_parquet(p))
    if suffix == ".csv":
        return _atomic(out, lambda p: rel.write_csv(p, header=True))
    if suffix == ".xlsx":
        _fits_excel(rel.shape[0], out)
    return write_table(rel.df(), out)


def write_table(frame: pd.DataFrame, out: Path) -> Path:
    """Write by extension (.csv, .parquet, .json, .xlsx) atomically: temp file, then rename."""
    suffix = out.suffix.lower()
    writers: dict[str, Callable[[str], object]] = {
        ".csv": lambda p: frame.to_csv(p, index=False),
        ".parquet": lambda p: frame.to_parquet(p, index=False),
        ".json": lambda p: frame.to_json(p, orient="records", date_format="iso", indent=1),
    }
    if suffix == ".xlsx":
        return write_xlsx({"data": frame}, out)
    if suffix not in writers:
        raise InputError(
            str(out), f"unknown output format; expected one of {', '.join([*writers, '.xlsx'])}"
        )
    return _atomic(out, writers[suffix])
