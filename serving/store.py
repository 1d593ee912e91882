"""Point lookups in the published lookup file (pipelines.scoring.publish), not a table in
memory: the process stays small whatever the base, and a new scoring run is picked up by
reopening the file the pointer names, without a restart and without blocking requests."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from models.explain import split_reasons
from pipelines.scoring.publish import LOOKUP_TABLE, current_lookup
from serving.schemas import CustomerScore, ScoreResponse

NO_SCORES = "no scores yet: run `retain score`"
UNKNOWN = "unknown customer_id: not in the scored population (new, lapsed or misspelt)"
MEMORY_LIMIT = "256MB"  # DuckDB's cache for the lookup file: the process stays small
INDEX_LOOKUP_IDS = 64  # up to this many ids, the index finds each; more, one join


class ScoreStore:
    """Lookups by customer_id in the current lookup file (read-only DuckDB, an index on the
    id; the run's version and dates read once per file)."""

    def __init__(self, pointer: Path) -> None:
        self.pointer = pointer
        self._lock = threading.Lock()
        self._opened: tuple[float | None, duckdb.DuckDBPyConnection | None, tuple[Any, ...]] = (
            None,
            None,
            (None, None, None),
        )

    def _current(self) -> tuple[duckdb.DuckDBPyConnection | None, tuple[Any, ...]]:
        """The connection to the file the pointer names now (reopened when it changes) and
        that run's (model_version, as_of, scored_at)."""
        try:
            mtime: float | None = self.pointer.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._opened[0]:
            with self._lock:  # one thread reopens; the others keep reading the old file
                if self._opened[0] != mtime:
                    self._opened = (mtime, *self._open())
        return self._opened[1], self._opened[2]

    def _open(self) -> tuple[duckdb.DuckDBPyConnection | None, tuple[Any, ...]]:
        path = current_lookup(self.pointer)
        if path is None:
            return None, (None, None, None)
        con = duckdb.connect(str(path), read_only=True)
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        try:
            run = con.execute(f"SELECT * FROM {LOOKUP_TABLE}_run").fetchone()
        except duckdb.CatalogException:  # a file published before the run table existed
            run = con.execute(
                f"SELECT any_value(model_version), any_value(as_of), any_value(scored_at) "
                f"FROM {LOOKUP_TABLE}"
            ).fetchone()
        return con, tuple(run or (None, None, None))

    @property
    def ready(self) -> bool:
        return self._current()[0] is not None

    def lookup(self, customer_ids: list[str]) -> ScoreResponse:
        con, (version, as_of, scored_at) = self._current()
        if con is None:
            results = [
                CustomerScore(customer_id=c, found=False, error=NO_SCORES) for c in customer_ids
            ]
            return ScoreResponse(results=results)
        cursor = con.cursor()  # one per request: connections are not shared across threads
        try:
            rows = _rows(cursor, customer_ids)
        finally:
            cursor.close()
        return ScoreResponse(
            model_version=None if version is None else str(version),
            as_of=None if as_of is None else pd.Timestamp(as_of).date().isoformat(),
            scored_at=None if scored_at is None else pd.Timestamp(scored_at).isoformat(),
            results=[customer_score(c, rows.get(c)) for c in customer_ids],
        )


def _rows(cursor: duckdb.DuckDBPyConnection, customer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of these ids: the index finds each of a few; many are one join."""
    unique = list(dict.fromkeys(customer_ids))
    if len(unique) <= INDEX_LOOKUP_IDS:
        marks = ", ".join("?" * len(unique))
        result = cursor.execute(
            f"SELECT * FROM {LOOKUP_TABLE} WHERE customer_id IN ({marks})", unique
        )
    else:
        sql = f"SELECT * FROM {LOOKUP_TABLE} WHERE customer_id IN (SELECT unnest(?::VARCHAR[]))"
        result = cursor.execute(sql, [unique])
    names = [d[0] for d in result.description or []]
    return {str(row[0]): dict(zip(names, row, strict=True)) for row in result.fetchall()}


def customer_score(customer_id: str, row: dict[str, Any] | None) -> CustomerScore:
    """One result of the API from a row of scores (a lookup, or a scored history)."""
    if row is None:
        return CustomerScore(customer_id=customer_id, found=False, error=UNKNOWN)
    known = {k: _plain(v) for k, v in row.items() if k in CustomerScore.model_fields}
    known.pop("customer_id", None)
    known["reasons"] = split_reasons(row.get("reasons"))
    for day_field in ("next_order_date", "as_of"):
        if known.get(day_field) is not None:
            known[day_field] = pd.Timestamp(known[day_field]).date().isoformat()
    known["expected_date_of_next_order"] = known.get("next_order_date")
    if known.get("scored_at") is not None:
        known["scored_at"] = pd.Timestamp(known["scored_at"]).isoformat()
    return CustomerScore(customer_id=customer_id, found=True, **known)


def _plain(value: Any) -> Any:
    """NaN and NaT as None; numpy scalars as Python ones."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value
