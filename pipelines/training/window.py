"""The gate's window: outcomes that neither the champion nor the judged challenger was fitted on.

A registered version has seen every event before its data end: the labels of its training
cutoffs and the orders its recent level counted. So the window is the customers active at
`start`, the first midnight at or after the champion's data end, and whether each ordered in
the `s` days from there to this run's data end (`s` at most the horizon). With monthly
retraining and a 90-day horizon that is a month: a partly observed horizon, so each model
answers with its own P(order within s days) = (1 - P(churn)) F(s) from its timing curve
(models.timing). The event scored is "no order within s days", the churn event over s days,
so the figures read like the churn ones (higher PR-AUC and lower Brier are better).

The challenger judged there is this run's recipe refitted on the cutoffs whose horizon ends
by `start` (and the recent level seen up to `start`): the registered version has seen the
window's orders and cannot be judged on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.metrics import churn_metrics
from models.recent_rate import Window
from models.scorer import Scorer
from models.timing import cdf_at
from pipelines.settings import Settings
from pipelines.training.backtest import MIN_RECENT_DAYS, ordered_within

MIN_WINDOW_DAYS = MIN_RECENT_DAYS  # fewer days observed say too little about who orders
MIN_WINDOW_CUSTOMERS = 200
MIN_WINDOW_EVENTS = 20  # of each outcome: PR-AUC and ROC-AUC need both
WINDOW_BASIS = "after the champion's data end"


@dataclass(frozen=True)
class GateWindow:
    """Orders in [start, start + observed_days) of the customers active at `start`."""

    start: pd.Timestamp
    observed_days: int
    champion_data_end: pd.Timestamp

    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(days=self.observed_days)

    def as_dict(self, rows: pd.DataFrame) -> dict[str, str | int]:
        """The window with its customers and how many of them ordered in it."""
        return {
            "basis": WINDOW_BASIS,
            "start": str(self.start.date()),
            "end": str(self.end.date()),
            "observed_days": self.observed_days,
            "customers": len(rows),
            "ordered": int(ordered_within(rows, self.observed_days).sum()),
            "champion_data_end": str(self.champion_data_end.date()),
        }

    def describe(self, customers: int) -> str:
        return (
            f"judged on {customers:,} customers active at {self.start.date()}: no order in the "
            f"{self.observed_days} days to {self.end.date()}, all after the champion's data end "
            f"{self.champion_data_end.date()}, so neither model was fitted on them"
        )


def choose_window(
    champion_data_end: pd.Timestamp, data_end: pd.Timestamp, horizon_days: int
) -> GateWindow:
    """The window after the champion's data end, observed up to `data_end` (none observed
    when the champion's data reaches that far)."""
    start = pd.Timestamp(champion_data_end).ceil("D")
    days = min(max((pd.Timestamp(data_end) - start).days, 0), horizon_days)
    return GateWindow(start, days, pd.Timestamp(champion_data_end))


def too_short(window: GateWindow) -> str | None:
    """Why the window is too short to judge, or None."""
    if window.observed_days >= MIN_WINDOW_DAYS:
        return None
    return (
        f"only {window.observed_days} days observed after the champion's data end "
        f"{window.champion_data_end.date()} (the window needs {MIN_WINDOW_DAYS})"
    )


def too_thin(window: GateWindow, rows: pd.DataFrame) -> str | None:
    """Why the window's customers cannot judge (too few, or too few of an outcome), or None."""
    if len(rows) < MIN_WINDOW_CUSTOMERS:
        return (
            f"{len(rows):,} customers active at {window.start.date()} (the window needs "
            f"{MIN_WINDOW_CUSTOMERS})"
        )
    ordered = int(ordered_within(rows, window.observed_days).sum())
    if min(ordered, len(rows) - ordered) < MIN_WINDOW_EVENTS:
        return (
            f"{ordered:,} of {len(rows):,} customers ordered in the window (it needs "
            f"{MIN_WINDOW_EVENTS} of each outcome)"
        )
    return None


def challenger_rows(frame: pd.DataFrame, start: pd.Timestamp, settings: Settings) -> pd.DataFrame:
    """The judged challenger's training rows: the newest `training_cutoffs` labelled cutoffs
    of this run's frame whose horizon ends by `start`."""
    labelled = frame[frame["churned"].notna()]
    ends = labelled["cutoff_at"] + pd.Timedelta(days=settings.horizon_days)
    cutoffs = sorted(labelled.loc[ends <= start, "cutoff_at"].unique())
    kept = cutoffs[-settings.training_cutoffs :]
    return labelled[labelled["cutoff_at"].isin(kept)]


def judged_window(scorer: Scorer, rows: pd.DataFrame, days: int) -> Window:
    """The scorer's P(churn) and F(days) per customer at the window's start, and who ordered
    within `days` (as Scorer._window computes them for the recent level)."""
    frame = scorer.prepare(rows)
    x = scorer.churn.encoder_.transform(frame)
    share = cdf_at(scorer.curve(frame, x), scorer.next_order.edges_, days)
    p_churn = scorer.churn.predict_proba_encoded(x, frame)
    return Window(p_churn, share, ordered_within(rows, days))


def window_metrics(scorer: Scorer, rows: pd.DataFrame, days: int) -> dict[str, float | None]:
    """Ranking and calibration of P(no order within `days`) = 1 - (1 - P(churn)) F(days),
    the scorer's own answer, against who did not order."""
    window = judged_window(scorer, rows, days)
    return dict(churn_metrics((~window.ordered).astype(int), no_order_probability(window)))


def no_order_probability(window: Window) -> np.ndarray:
    """1 - P(order within the window), within [0, 1]: at a whole horizon F is 1 up to
    rounding, and 1 - (1 - p) x F can fall a hair below 0, which the metrics refuse."""
    return np.clip(1 - window.order_probability(0.0), 0.0, 1.0)
