"""Fresh scores from a posted history: the same feature SQL on an in-memory DuckDB and the
same registered model as the batch, so a history scores exactly as the batch scores the same
customer at the same as-of (nothing in a version depends on who else is scored)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.cutoffs import to_timestamp
from features.frame import build_frame
from pipelines.errors import InputError
from pipelines.home import open_registry
from pipelines.ingest.sources import load_frames
from pipelines.settings import Settings
from pipelines.warehouse import connect
from serving.schemas import ComplaintIn, CustomerIn, CustomerScore, OrderIn
from serving.store import customer_score, plain_row

if TYPE_CHECKING:  # the scorer's stack (scikit-learn, LightGBM) loads with the champion
    import duckdb

    from models.scorer import Scorer

CHAMPION_CHECK_SECONDS = 60.0


class HistoryError(ValueError):
    """A posted history that cannot be scored: the field (with its row) and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class Champion:
    """The champion scorer, loaded once and reloaded when the alias moves (the registry is
    asked at most once a minute; probes read what is loaded and never wait for MLflow)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded: tuple[str, Scorer] | None = None
        self._checked = -CHAMPION_CHECK_SECONDS

    @property
    def loaded(self) -> tuple[str, Scorer] | None:
        return self._loaded

    def stale(self) -> bool:
        return time.monotonic() - self._checked > CHAMPION_CHECK_SECONDS

    def get(self) -> tuple[str, Scorer] | None:
        """The champion, asking the registry when the last answer is over a minute old."""
        if self.stale():
            with self._lock:
                if self.stale():
                    self._refresh()
        return self._loaded

    def _refresh(self) -> None:
        registry = open_registry(self.settings)
        version = registry.champion_version()
        if version is not None and (self._loaded is None or self._loaded[0] != version):
            scorer, _ = registry.load_scorer(version)
            self._loaded = (version, scorer)
        self._checked = time.monotonic()

    def refresh_in_background(self) -> None:
        """Load (or re-check) without blocking the caller: probes stay instant."""
        if self.stale() and not self._lock.locked():
            threading.Thread(target=self.get, daemon=True).start()


class Connections:
    """In-memory DuckDB databases for posted histories, reused: opening one costs about 14 ms,
    as much as validating a history. Each serves one request at a time, and every request
    replaces all the contract tables (a table not posted becomes an empty one), so nothing of
    one history reaches the next; a request that fails gives its database up."""

    def __init__(self) -> None:
        self._idle: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()

    @contextmanager
    def lease(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            con = self._idle.get_nowait()
        except queue.Empty:
            con = connect()
            con.execute("SET threads = 1")  # one history is tiny; requests run side by side
        try:
            yield con
        except BaseException:
            con.close()
            raise
        self._idle.put(con)


def history_frames(
    customer_id: str,
    orders: list[OrderIn],
    complaints: list[ComplaintIn],
    customer: CustomerIn | None,
) -> dict[str, pd.DataFrame]:
    """The contract tables of one customer; columns nobody filled in are left out (absent)."""
    frames = {
        "orders": _table([o.model_dump() for o in orders], customer_id),
        "complaints": _table([c.model_dump() for c in complaints], customer_id),
    }
    if customer is not None:
        frames["customers"] = _table([customer.model_dump()], customer_id)
    return {name: frame for name, frame in frames.items() if len(frame)}


def _table(rows: list[dict[str, Any]], customer_id: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.dropna(axis=1, how="all")
    frame.insert(0, "customer_id", customer_id)
    return frame


def score_history(
    settings: Settings,
    champion: tuple[str, Scorer],
    as_of: str,
    frames: dict[str, pd.DataFrame],
    customer_id: str,
    connections: Connections,
) -> tuple[CustomerScore, list[str]]:
    """Validate the history like any source, compute its features at `as_of`, score them.
    Rows the batch would set aside are set aside here too and named (second item), so the
    score is the batch's for the same data."""
    cutoff = _cutoff(as_of)
    if "orders" not in frames:
        raise HistoryError("orders", "at least one order is needed")
    with connections.lease() as con:
        try:
            load_frames(
                con, frames, settings.input.model_copy(update={"tables": {}, "columns": {}})
            )
        except InputError as unusable:  # e.g. no order date parses at all
            return _not_scored(customer_id, str(unusable)), [str(unusable)]
        set_aside = _set_aside(con)
        frame = build_frame(con, [cutoff], settings.activity_window_days)
    if frame.empty:
        window = settings.activity_window_days
        return _not_scored(
            customer_id,
            f"not in the scored population at {cutoff.date()}: no completed order "
            f"before it, or the last one more than {window} days before it",
        ), set_aside
    version, scorer = champion
    scores = scorer.score(
        frame, cutoff, pd.Timestamp.now(tz="UTC").tz_localize(None), version,
        risk_thresholds=settings.risk_thresholds,
    )  # fmt: skip
    row = {str(k): v for k, v in scores.iloc[0].items()} | {
        "average_days_between_orders": frame["mean_days_between_orders"].iloc[0],
        "average_order_value": frame["net_avg_order_value"].iloc[0],
        "historic_clv": frame["net_spend_total"].iloc[0],
    }
    return customer_score(customer_id, plain_row(row)), set_aside


def _not_scored(customer_id: str, why: str) -> CustomerScore:
    return CustomerScore(customer_id=customer_id, found=False, error=why)


def _cutoff(as_of: str) -> pd.Timestamp:
    try:
        return to_timestamp(pd.Timestamp(as_of))
    except (ValueError, TypeError):
        raise HistoryError("as_of", f"not a date: {as_of!r} (expected YYYY-MM-DD)") from None


def _set_aside(con: Any) -> list[str]:
    """Each row validation set aside, as `table[index].field: reason` (index from 0)."""
    found = con.execute(
        "SELECT table_name, row, column_name, reason FROM rejects ORDER BY table_name, row"
    ).fetchall()
    return [f"{table}[{int(row) - 1}].{column}: {reason}" for table, row, column, reason in found]
