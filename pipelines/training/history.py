"""How much history a model needs: checked before any heavy work, said in one line.

A model is validated at the newest cutoff v whose horizon ends by the data end, after training
on cutoffs whose horizons end by v (the rolling-origin rule), and at least two of those must
come after the first order (customers exist there). So a history must hold about two
horizons plus the months between cutoffs: with month-start cutoffs and a 90-day horizon,
nine months. The rule is written once, here, from the cutoff functions the training uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from features.cutoffs import last_labelled_cutoff, spaced_cutoffs
from pipelines.settings import Settings
from pipelines.training.backtest import training_cutoffs

MIN_TRAINING_CUTOFFS = 2  # the backtest learns from at least two cutoffs
SHORTEST_HORIZON_DAYS = 7
DAYS_PER_MONTH = 365.25 / 12
_SEARCH_DAYS = 5 * 365  # the longest history the minimum is looked for in


@dataclass(frozen=True)
class History:
    """The span of the orders a model would learn from: first order to the data end."""

    first_order: pd.Timestamp
    data_end: pd.Timestamp

    @property
    def months(self) -> float:
        return (self.data_end - self.first_order).days / DAYS_PER_MONTH


def learnable_cutoffs(history: History, v: pd.Timestamp, settings: Settings) -> list[pd.Timestamp]:
    """The training cutoffs of a validation at `v` that come after the first order."""
    return [c for c in training_cutoffs(v, settings) if c > history.first_order]


def enough(history: History, settings: Settings, evaluate_at: pd.Timestamp | None = None) -> bool:
    """Whether a model can be validated at `evaluate_at` (default: the newest labelled cutoff)
    with this history and the settings' horizon and cutoff spacing."""
    h = settings.horizon_days
    v = evaluate_at if evaluate_at is not None else last_labelled_cutoff(history.data_end, h)
    if v <= history.first_order or v + pd.Timedelta(days=h) > history.data_end:
        return False
    return len(learnable_cutoffs(history, v, settings)) >= MIN_TRAINING_CUTOFFS


def labelled_cutoffs(history: History, settings: Settings) -> list[pd.Timestamp]:
    """Cutoffs after the first order whose horizon ended by the data end (what a model
    trained on a short history with partial cutoffs learns from)."""
    v = last_labelled_cutoff(history.data_end, settings.horizon_days)
    return [c for c in spaced_cutoffs(v, settings.training_cutoffs, settings.cutoff_step_days)
            if c > history.first_order]  # fmt: skip


def enough_with_partial(history: History, settings: Settings) -> bool:
    """Whether two labelled cutoffs exist: one to validate on, one to learn from before it."""
    return len(labelled_cutoffs(history, settings)) >= MIN_TRAINING_CUTOFFS


def months_needed(first_order: pd.Timestamp, settings: Settings) -> int | None:
    """Whole months of history from `first_order` after which a model can be trained."""
    for day in range(_SEARCH_DAYS):
        end = first_order + pd.Timedelta(days=day)
        if enough(History(first_order, end), settings):
            return math.ceil(day / DAYS_PER_MONTH)
    return None


def longest_horizon_now(history: History, settings: Settings) -> int | None:
    """The longest horizon (a multiple of 5 days, or 7) a model can be trained for now."""
    candidates = [*range(settings.horizon_days - 5, 9, -5), SHORTEST_HORIZON_DAYS]
    for days in candidates:
        if 0 < days < settings.horizon_days and enough(
            history, settings.model_copy(update={"horizon_days": days})
        ):
            return days
    return None


def shortfall(
    history: History, settings: Settings, evaluate_at: pd.Timestamp | None = None
) -> str | None:
    """One line when the history is too short for the settings' horizon: the rule, what the
    data has and what it allows; None when it is long enough."""
    if enough(history, settings, evaluate_at):
        return None
    h = settings.horizon_days
    need = months_needed(history.first_order, settings)
    rule = (
        f"a {h}-day model needs {need} months from the first order"
        if need
        else f"a {h}-day model needs more history"
    )
    has = (
        f"{history.months:.1f} months of history ({history.first_order.date()} to "
        f"{history.data_end.date()})"
    )
    if evaluate_at is not None:
        return (
            f"{has}: evaluating at {evaluate_at.date()} needs two training cutoffs after the "
            f"first order whose {h}-day horizons end by it, and its own horizon to end by the "
            f"data end; {rule}"
        )
    shorter = longest_horizon_now(history, settings)
    allows = (
        f"a {shorter}-day model can be trained now (--horizon-days {shorter})"
        if shorter
        else "no horizon can be trained yet"
    )
    if enough_with_partial(history, settings):
        allows += f", or this {h}-day one with --partial-cutoffs"
    return f"{has}: {rule} (validation and two training cutoffs, each a horizon apart); {allows}"


def partial_training(history: History, settings: Settings) -> bool:
    """Whether this run trains on a short history with partial cutoffs (asked for, needed,
    and possible); otherwise the rule above holds."""
    return (
        settings.partial_cutoffs
        and not enough(history, settings)
        and enough_with_partial(history, settings)
    )
