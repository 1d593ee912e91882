"""PostgreSQL at the edge: stream source tables out, write scores back in one transaction."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.errors import InputError

COPY_CHUNK_ROWS = 100_000


def is_postgres(src: str) -> bool:
    return src.startswith(("postgresql://", "postgres://"))


def _connect(url: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(url, autocommit=False)
    except psycopg.Error as exc:
        raise InputError(redact(url), f"cannot connect to PostgreSQL: {str(exc).strip()}") from exc


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or ":" not in url.split("@")[0].split("//", 1)[-1]:
        return url
    scheme, rest = url.split("//", 1)
    user = rest.split("@")[0].split(":")[0]
    return f"{scheme}//{user}:***@{rest.split('@', 1)[1]}"


def export_csv(url: str, schema: str, table: str, dest: Path) -> bool:
    """Stream `schema.table` to a CSV file with COPY (memory stays flat at any size).

    Timestamps with a time zone come out in UTC with their offset. Returns False when
    the table does not exist.
    """
    with _connect(url) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            [schema, table],
        ).fetchone()
        if not found:
            return False
        conn.execute("SET TIME ZONE 'UTC'")
        query = (
            f'COPY (SELECT * FROM "{schema}"."{table}") TO STDOUT WITH (FORMAT csv, HEADER true)'
        )
        with dest.open("wb") as out, conn.cursor().copy(query) as copy:
            for block in copy:
                out.write(block)
    return True


def write_scores(url: str, scores: pd.DataFrame, table: str = "retain_scores") -> int:
    """Replace the scores of this as-of in `table`, in one transaction: readers see the old
    rows or the new ones, never a half-written table."""
    return write_score_batches(url, iter([scores]), table)


def write_score_batches(
    url: str, batches: Iterator[pd.DataFrame], table: str = "retain_scores"
) -> int:
    """`write_scores` for scores arriving in batches (a scoring run's file, streamed): the
    first batch gives the columns and the as-of; one transaction for all."""
    first = next(batches, None)
    if first is None:
        return 0
    columns = list(first.columns)
    ddl = ", ".join(f'"{c}" {_pg_type(first[c])}' for c in columns)
    written = 0
    with _connect(url) as conn, conn.transaction():
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({ddl})')
        if len(first):
            conn.execute(f'DELETE FROM "{table}" WHERE as_of = %s', [first["as_of"].iloc[0]])
        names = ", ".join(f'"{c}"' for c in columns)
        with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN WITH (FORMAT csv)') as copy:
            for batch in itertools.chain([first], batches):
                for start in range(0, len(batch), COPY_CHUNK_ROWS):
                    buffer = io.StringIO()
                    batch.iloc[start : start + COPY_CHUNK_ROWS].to_csv(
                        buffer, index=False, header=False
                    )
                    copy.write(buffer.getvalue())
                written += len(batch)
    return written


def _pg_type(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    return "text"
