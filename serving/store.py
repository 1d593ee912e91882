"""Point lookups in the published lookup file (the home's, see pipelines.home), not a table in
memory: the process stays small whatever the base, and a new scoring run is picked up by
reopening the file the pointer names, without a restart and without blocking requests."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from models.explain import RAISES, direction_of, split_reasons
from pipelines.home import LOOKUP_TABLE, Home
from serving.schemas import CustomerScore, ScoreResponse

NO_SCORES = "no scores yet: run `retain score`"
UNKNOWN = "unknown customer_id: not in the scored population (new, lapsed or misspelt)"
MEMORY_LIMIT = "256MB"  # DuckDB's cache for the lookup file: the process stays small
INDEX_LOOKUP_IDS = 64  # up to this many ids, the index finds each; more, one join


@dataclass(frozen=True)
class _Opened:
    """One published file: its pointer's mtime, a connection, the run's (model_version,
    as_of, scored_at) and the select list of its API fields (plain_select)."""

    mtime: float | None = None
    con: duckdb.DuckDBPyConnection | None = None
    run: tuple[Any, ...] = (None, None, None)
    select: str = "*"


class ScoreStore:
    """Lookups by customer_id in the current lookup file (read-only DuckDB, an index on the
    id; the run's version and dates read once per file)."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.pointer = home.lookup_pointer
        self._lock = threading.Lock()
        self._opened = _Opened()

    def _current(self) -> _Opened:
        """The file the pointer names now (reopened when it changes)."""
        try:
            mtime: float | None = self.pointer.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._opened.mtime:
            with self._lock:  # one thread reopens; the others keep reading the old file
                if self._opened.mtime != mtime:
                    self._opened = self._open(mtime)
        return self._opened

    def _open(self, mtime: float | None) -> _Opened:
        path = self.home.current_lookup()
        if path is None:
            return _Opened(mtime)
        con = duckdb.connect(str(path), read_only=True)
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        try:
            run = con.execute(f"SELECT * FROM {LOOKUP_TABLE}_run").fetchone()
        except duckdb.CatalogException:  # a file published before the run table existed
            run = con.execute(
                f"SELECT any_value(model_version), any_value(as_of), any_value(scored_at) "
                f"FROM {LOOKUP_TABLE}"
            ).fetchone()
        return _Opened(mtime, con, tuple(run or (None, None, None)), plain_select(con))

    @property
    def ready(self) -> bool:
        return self._current().con is not None

    @property
    def scored_at_seconds(self) -> float | None:
        """When the served scores were computed (Unix seconds; naive times are UTC)."""
        scored_at = self._current().run[2]
        if scored_at is None:
            return None
        moment = pd.Timestamp(scored_at)
        return (moment if moment.tzinfo else moment.tz_localize("UTC")).timestamp()

    def lookup(self, customer_ids: list[str]) -> ScoreResponse:
        opened = self._current()
        con, (version, as_of, scored_at) = opened.con, opened.run
        if con is None:
            results = [
                CustomerScore(customer_id=c, found=False, error=NO_SCORES) for c in customer_ids
            ]
            return ScoreResponse(results=results)
        run = {
            "model_version": None if version is None else str(version),
            "as_of": None if as_of is None else _day(as_of),
            "scored_at": None if scored_at is None else _moment(scored_at),
        }  # one scoring run per file: the same for every row
        cursor = con.cursor()  # one per request: connections are not shared across threads
        try:
            rows = _rows(cursor, customer_ids, opened.select)
        finally:
            cursor.close()
        return ScoreResponse(
            **run,
            results=[customer_score(c, _with(rows.get(c), run)) for c in customer_ids],
        )


def _with(row: dict[str, Any] | None, run: dict[str, Any]) -> dict[str, Any] | None:
    return None if row is None else row | run


def _rows(
    cursor: duckdb.DuckDBPyConnection, customer_ids: list[str], columns: str
) -> dict[str, dict[str, Any]]:
    """Plain rows (plain_row) of these ids. A few: the index finds each and Python makes them
    plain (a longer query costs more to plan than that). Many: one join, made plain by the
    query (`columns`, see plain_select), as per value in Python it cost more than the join."""
    unique = list(dict.fromkeys(customer_ids))
    if len(unique) <= INDEX_LOOKUP_IDS:
        marks = ", ".join("?" * len(unique))
        sql = f"SELECT * FROM {LOOKUP_TABLE} WHERE customer_id IN ({marks})"
        return {str(row["customer_id"]): plain_row(row) for row in _dicts(cursor, sql, unique)}
    sql = f"SELECT {columns} FROM {LOOKUP_TABLE} WHERE customer_id IN (SELECT unnest(?::VARCHAR[]))"
    return {str(row["customer_id"]): row for row in _dicts(cursor, sql, [unique])}


def _dicts(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    result = cursor.execute(sql, params)
    names = [d[0] for d in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def plain_select(con: duckdb.DuckDBPyConnection) -> str:
    """The lookup table's API fields as plain values (see plain_row): NaN as NULL, the date as
    text. Done per value in Python, that cost more than the lookup of 10,000 ids."""
    described = f"SELECT column_name, column_type FROM (DESCRIBE {LOOKUP_TABLE})"
    kinds = dict(con.execute(described).fetchall())
    out = ["customer_id"]
    for name, kind in kinds.items():
        if name not in SCORE_FIELDS or name in RUN_FIELDS:
            continue
        if kind in ("DOUBLE", "FLOAT"):
            out.append(f"CASE WHEN isnan({name}) THEN NULL ELSE {name} END AS {name}")
        elif kind.startswith(("DATE", "TIMESTAMP")):
            out.append(f"strftime({name}, '%Y-%m-%d') AS {name}")
        else:
            out.append(name)
    return ", ".join(out)


# What a row of scores gives the API (read once: pydantic's `model_fields` is slow per call)
SCORE_FIELDS = frozenset(CustomerScore.model_fields) - {"customer_id"}
RUN_FIELDS = ("model_version", "as_of", "scored_at")  # one value per scoring run


def customer_score(customer_id: str, row: dict[str, Any] | None) -> CustomerScore:
    """One result of the API from a plain row of scores (plain_row): a lookup or a history."""
    if row is None:
        return CustomerScore(customer_id=customer_id, found=False, error=UNKNOWN)
    known = {k: v for k, v in row.items() if k in SCORE_FIELDS}
    known["reasons"] = split_reasons(row.get("reasons"))
    # reasons of a run before directions were worded all raised the risk (the only kind kept)
    known["reason_directions"] = [direction_of(r) or RAISES for r in known["reasons"]]
    known["expected_date_of_next_order"] = known.get("next_order_date")
    known["next_categories"] = json.loads(row.get("next_categories") or "[]")  # older runs: none
    return CustomerScore(customer_id=customer_id, found=True, **known)


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of scores from pandas as the API gives it: NaN and NaT as None, numpy scalars as
    Python ones, dates as YYYY-MM-DD and `scored_at` in ISO format."""
    out = {k: _plain(v) for k, v in row.items()}
    for day_field in ("next_order_date", "as_of"):
        if out.get(day_field) is not None:
            out[day_field] = _day(out[day_field])
    if out.get("scored_at") is not None:
        out["scored_at"] = _moment(out["scored_at"])
    return out


def _day(value: Any) -> str:
    """YYYY-MM-DD of a date or timestamp."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else pd.Timestamp(value).date().isoformat()


def _moment(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else pd.Timestamp(value).isoformat()


def _plain(value: Any) -> Any:
    """NaN and NaT as None; numpy scalars as Python ones."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value
