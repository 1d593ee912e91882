"""Fresh scores from a posted history: the batch's features (the feature SQL on an in-memory
DuckDB, or for a history validation keeps as posted its one-customer restatement, proven equal)
and the same registered model as the batch, so a history scores exactly as the batch scores
the same customer at the same as-of (nothing in a version depends on who else is scored)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.cutoffs import to_timestamp
from features.frame import build_frame
from features.one_customer import NotHere, Value, feature_rows, features_at
from features.schema import CATEGORICAL_FEATURES
from pipelines.errors import InputError
from pipelines.home import open_registry
from pipelines.ingest.sources import load_frames
from pipelines.settings import InputSettings, Settings
from pipelines.warehouse import connect
from serving import metrics
from serving.posted import clean_history
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


@dataclass(frozen=True)
class History:
    """One posted history: the customer and the rows of the contract tables, as parsed."""

    customer_id: str
    orders: list[OrderIn]
    complaints: list[ComplaintIn] = field(default_factory=list)
    customer: CustomerIn | None = None


def history_frames(history: History) -> dict[str, pd.DataFrame]:
    """The contract tables of one customer; columns nobody filled in are left out (absent)."""
    customer_id = history.customer_id
    frames = {
        "orders": _table([o.model_dump() for o in history.orders], customer_id),
        "complaints": _table([c.model_dump() for c in history.complaints], customer_id),
    }
    if history.customer is not None:
        frames["customers"] = _table([history.customer.model_dump()], customer_id)
    return {name: frame for name, frame in frames.items() if len(frame)}


def _table(rows: list[dict[str, Any]], customer_id: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame = frame.dropna(axis=1, how="all")
    frame.insert(0, "customer_id", customer_id)
    return frame


Scored = tuple[CustomerScore, list[str]]  # the score, and the rows set aside (named)


def score_history(
    settings: Settings,
    champion: tuple[str, Scorer],
    as_of: str,
    history: History,
    connections: Connections,
) -> Scored:
    """Validate the history like any source, compute its features at `as_of`, score them.
    Rows the batch would set aside are set aside here too and named (second item), so the
    score is the batch's for the same data. A history validation keeps as posted takes the
    one-customer route (features.one_customer, no DuckDB); any other the batch SQL's."""
    (result,) = score_histories(settings, champion, [(as_of, history)], connections)
    if isinstance(result, HistoryError):
        raise result
    return result


def score_histories(
    settings: Settings,
    champion: tuple[str, Scorer],
    posted: list[tuple[str, History]],
    connections: Connections,
) -> list[Scored | HistoryError]:
    """`score_history` for several (as_of, history) at once, in order: each history's
    features alone, then one model pass per as-of for all of them (the service batches the
    histories that arrive together). A row's score depends on that row only, so each result
    equals the history's own; a history that cannot be scored gets its HistoryError."""
    steps = metrics.HistorySteps()
    results: list[Scored | HistoryError | None] = [None] * len(posted)
    found: dict[pd.Timestamp, list[tuple[int, Features, list[str]]]] = {}
    try:
        for i, (as_of, history) in enumerate(posted):
            try:
                cutoff = _cutoff(as_of)
                if not history.orders:
                    raise HistoryError("orders", "at least one order is needed")
            except HistoryError as error:
                results[i] = error
                continue
            features = _features(settings, cutoff, history, connections, steps)
            if isinstance(features[0], CustomerScore):
                results[i] = (features[0], features[1])
            else:
                found.setdefault(cutoff, []).append((i, features[0], features[1]))
        for cutoff, rows in found.items():
            rows.sort(key=lambda row: not isinstance(row[1], dict))  # the frame's row order
            ids = [posted[i][1].customer_id for i, _, _ in rows]
            frame = _together(cutoff, [(c, f) for c, (_, f, _) in zip(ids, rows, strict=True)])
            for (i, _, set_aside), score in zip(
                rows, _scored(settings, champion, cutoff, frame, ids, steps), strict=True
            ):
                results[i] = (score, set_aside)
    finally:
        steps.report(histories=len(posted))
    return [r for r in results if r is not None]


Features = dict[str, Value] | pd.DataFrame  # of one customer: the one-customer route's, the SQL's


def _together(cutoff: pd.Timestamp, rows: list[tuple[str, Features]]) -> pd.DataFrame:
    """The features of several customers at one cutoff as one frame, in the order given
    (those of the one-customer route first): their values in one construction, the SQL's
    frames after them, the categorical columns categories again."""
    fast = [(c, f) for c, f in rows if isinstance(f, dict)]
    frames = [f for _, f in rows if isinstance(f, pd.DataFrame)]
    if fast:
        frames.insert(0, feature_rows(cutoff, fast))
    if len(frames) == 1:
        return frames[0]
    frame = pd.concat(frames, ignore_index=True)
    for column in CATEGORICAL_FEATURES:
        if column in frame and not isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype("category")
    return frame


def _features(
    settings: Settings, cutoff: pd.Timestamp, history: History, connections: Connections,
    steps: metrics.HistorySteps,
) -> tuple[Features | CustomerScore, list[str]]:  # fmt: skip
    """The history's features, or its answer when it cannot be scored; with the rows
    validation set aside."""
    found = _one_customer(settings, history, cutoff, steps)
    set_aside: list[str] = []
    if found is None:
        with connections.lease() as con:
            try:
                with steps.step("validate"):
                    load_frames(con, history_frames(history), _posted_input(settings))
            except InputError as unusable:  # e.g. no order date parses at all
                return _not_scored(history.customer_id, str(unusable)), [str(unusable)]
            set_aside = _set_aside(con)
            with steps.step("features"):
                found = build_frame(con, [cutoff], settings.activity_window_days)
    if isinstance(found, pd.DataFrame) and found.empty:
        window = settings.activity_window_days
        return _not_scored(
            history.customer_id,
            f"not in the scored population at {cutoff.date()}: no completed order "
            f"before it, or the last one more than {window} days before it",
        ), set_aside
    return found, set_aside


def _posted_input(settings: Settings) -> InputSettings:
    """The input settings of a posted history: the contract's own names, the formats set."""
    return settings.input.model_copy(update={"tables": {}, "columns": {}})


def _one_customer(
    settings: Settings, history: History, cutoff: pd.Timestamp, steps: metrics.HistorySteps
) -> dict[str, Value] | pd.DataFrame | None:
    """The features (an empty frame outside the population) of a history validation keeps
    as posted, computed for this customer alone; None when validation has work to do."""
    with steps.step("validate"):
        clean = clean_history(
            history.customer_id, history.orders, history.complaints, history.customer,
            _posted_input(settings),
        )  # fmt: skip
    if clean is None:
        return None
    with steps.step("features"):
        try:
            values = features_at(*clean, cutoff.value // 1000, settings.activity_window_days)
        except NotHere:
            return None
        return pd.DataFrame() if values is None else values


def _scored(
    settings: Settings, champion: tuple[str, Scorer], cutoff: pd.Timestamp,
    frame: pd.DataFrame, customer_ids: list[str], steps: metrics.HistorySteps,
) -> list[CustomerScore]:  # fmt: skip
    """The champion's scores of the feature frame's rows, reasons timed apart."""
    version, scorer = champion
    with steps.step("model"):
        prepared = scorer.prepare(frame)
        x = scorer.encode(prepared)
        scores = scorer.score(
            prepared, cutoff, pd.Timestamp.now(tz="UTC").tz_localize(None), version,
            with_reasons=False, risk_thresholds=settings.risk_thresholds, encoded=x,
        )  # fmt: skip
    with steps.step("reasons"):
        reasons = scorer.reasons(prepared, x)
    extra = {
        "average_days_between_orders": frame["mean_days_between_orders"].tolist(),
        "average_order_value": frame["net_avg_order_value"].tolist(),
        "historic_clv": frame["net_spend_total"].tolist(),
    }
    return [
        customer_score(
            customer_id,
            plain_row(
                {str(k): v for k, v in row.items()}
                | {"reasons": reasons[i]}
                | {name: values[i] for name, values in extra.items()}
            ),
        )
        for i, (customer_id, row) in enumerate(
            zip(customer_ids, scores.to_dict("records"), strict=True)
        )
    ]


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
