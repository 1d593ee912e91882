"""Training run: one validation on the latest labelled cutoff, a final fit, champion gating.

Validation follows the rolling-origin rule (docs/ARCHITECTURE.md, time rules): the evaluation cutoff v is
the latest month start whose horizon ends by the data end (or by --as-of); everything
evaluated there trains only on cutoffs c with c + horizon <= v. The registered model is then
refit on the cutoffs up to v. Whether it replaces the champion is decided in `gate`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.cutoffs import last_labelled_cutoff, spaced_cutoffs
from features.frame import build_frame
from features.schema import LABEL_COLUMNS
from models.churn import ChurnModel
from models.scorer import VALUE_METHOD_TEXT, Scorer
from pipelines.errors import InputError
from pipelines.settings import Settings
from pipelines.training.backtest import (
    backtest,
    fit_cutoffs,
    fit_scorer,
    recent_cutoff,
    recent_rows,
)
from pipelines.training.history import History, partial_training, shortfall
from pipelines.warehouse import data_end as find_data_end
from pipelines.warehouse import first_order, hand_back_memory, scalar

REFERENCE_SAMPLE_ROWS = 5_000
METRIC_NAMES = {"model": "model", "recency": "recency_baseline", "rfm": "rfm", "bgnbd": "bgnbd"}
METRIC_NAMES |= {k: k for k in ("bgnbd_gamma_gamma", "spend_rate", "bgnbd_orders_x_order_value")}


@dataclass
class TrainResult:
    metrics: dict[str, dict[str, float | None]]
    scorer: Scorer
    reference: pd.DataFrame
    evaluation_cutoff: pd.Timestamp
    data_end: pd.Timestamp
    frame: pd.DataFrame  # labelled training frame, kept for the champion comparison
    training_window: tuple[pd.Timestamp, pd.Timestamp]  # first and last cutoff of the final fit
    counts: dict[str, int] = field(default_factory=dict)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)  # P(churn) at validation

    @property
    def notes(self) -> list[str]:
        """What a data scientist should know about this fit."""
        found = []
        step = self.counts.get("cutoff_step_days", 0)
        if step:
            found.append(
                f"training cutoffs every {step} days (month starts when the history is long enough)"
            )
        timing = self.scorer.next_order
        if timing.method_ == "bgnbd":
            found.append(
                f"next-order timing from BG/NBD per customer: only {timing.observed_:,} next "
                f"orders were seen within the horizon, fewer than the {timing.min_observed:,} "
                "a learned curve needs"
            )
        if self.counts.get("partial_cutoffs"):
            first, last = self.training_window
            found.append(
                f"short history, trained with partial cutoffs: learned from the cutoffs "
                f"{first.date()} to {last.date()} whose horizon has ended; validated at "
                f"{self.evaluation_cutoff.date()} on labels that overlap its training labels "
                "(optimistic); cutoffs after it, observed only in part, set the churn level "
                "(a customer not yet seen ordering is censored there, not a churner)"
            )
        if self.scorer.value_method != "spend_forecast":
            found.append(f"value: {VALUE_METHOD_TEXT[self.scorer.value_method]}")
        found.extend(category_note(self.scorer.churn))
        recent = self.scorer.recent_rate
        if recent is not None:
            found.append(
                f"recent cutoff, {recent.observed_days} days observed: {recent.observed_orders:,} "
                f"of {recent.customers:,} customers ordered, {recent.predicted_orders:,.0f} "
                f"expected (z {recent.z:+.1f}); "
                + (
                    f"churn level moved by {-recent.log_odds_shift:+.2f} log-odds"
                    if recent.applied
                    else "within the noise, level kept"
                )
            )
        return found

    @property
    def validation(self) -> pd.DataFrame:
        """The labelled rows at the evaluation cutoff."""
        return self.frame[self.frame["cutoff_at"] == self.evaluation_cutoff]


def category_note(churn: ChurnModel) -> list[str]:
    """A sentence when the lines carry categories but the churn trees do not use them."""
    if churn.optional_used_ is not False:
        return []
    if churn.optional_gain_ is None:
        why = "the history is too short to judge them on a fold a horizon after training"
    else:
        saved, error = churn.optional_gain_
        why = f"they saved {saved:.4f} log loss (SE {error:.4f}) on the purged later fold"
    return [f"category features left out of the churn score: {why}"]


def labelled_frame(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    end: pd.Timestamp,
    settings: Settings,
) -> tuple[pd.DataFrame, float]:
    """The labelled multi-cutoff frame and the share of customers it covers: all of them up
    to `training_max_customers`, a fixed hash sample of that many above (13 cutoffs of 6.6M
    customers would be 86M rows, more than fits beside the models)."""
    customers = int(scalar(con, "SELECT count(DISTINCT customer_id) FROM orders") or 0)
    share = min(1.0, settings.training_max_customers / max(customers, 1))
    frame = build_frame(
        con,
        cutoffs,
        settings.activity_window_days,
        settings.horizon_days,
        end,
        settings.frame_part_rows,
        customer_share=share,
    )
    hand_back_memory(con, settings.duckdb_memory_limit)
    return frame, share


def train(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp | None = None,
    shuffle_labels: bool = False,
) -> TrainResult:
    """Build frames, validate against the baselines, refit on everything labelled (no MLflow).
    With `as_of`, only events before it are used: the data ends there. `shuffle_labels` is a
    negative control (the replay's broken challenger): outcomes permuted within each cutoff,
    so the model can learn nothing and the gate must refuse it."""
    end = find_data_end(con) if as_of is None else min(find_data_end(con), as_of)
    history = History(first_order(con), end)
    partial = partial_training(history, settings)
    if not partial:
        require_history(history, settings)
    v = last_labelled_cutoff(end, settings.horizon_days)
    final_cutoffs = spaced_cutoffs(v, settings.training_cutoffs, settings.cutoff_step_days)
    newest = recent_cutoff(end, settings)
    cutoffs = sorted(
        {*fit_cutoffs(v, settings, partial), *final_cutoffs, *([newest] if newest else [])}
    )
    frame, share = labelled_frame(con, cutoffs, end, settings)
    recent = recent_rows(frame, end, settings, season_check=not partial)
    frame = frame[frame["churned"].notna()]
    if shuffle_labels:
        frame = _shuffled(frame, settings.random_state)
    if frame[frame["cutoff_at"] == v].empty:
        raise InputError(
            "--as-of" if as_of is not None else "orders",
            f"no labelled customers at {v.date()}: the data (to {end.date()}) is too short "
            f"for a {settings.horizon_days}-day horizon",
        )
    result = backtest(frame, [v], settings, {"model": None}, overlapping=partial)
    metrics = {METRIC_NAMES[k]: m for k, m in result.by_cutoff[v.date().isoformat()].items()}
    final = frame[frame["cutoff_at"].isin(final_cutoffs)]
    scorer = fit_scorer(final, settings, recent=recent)
    test = frame[frame["cutoff_at"] == v]
    reference = test.sample(
        min(len(test), REFERENCE_SAMPLE_ROWS), random_state=settings.random_state
    )
    counts = {
        "training_rows": len(final),
        "validation_rows": len(test),
        "training_cutoffs": final["cutoff_at"].nunique(),
        "customer_share_per_mille": round(share * 1000),
        "cutoff_step_days": settings.cutoff_step_days,
        "partial_cutoffs": int(partial),
    }
    learned = [c for c in final_cutoffs if (final["cutoff_at"] == c).any()]  # data start on
    window = (min(learned), max(final_cutoffs))
    predictions = result.predictions[v.date().isoformat()]
    return TrainResult(metrics, scorer, reference, v, end, frame, window, counts, predictions)


def require_history(
    history: History, settings: Settings, evaluate_at: pd.Timestamp | None = None
) -> None:
    """Stop (exit 2, one line) before any heavy work when the history is too short."""
    problem = shortfall(history, settings, evaluate_at)
    if problem is not None:
        raise InputError("history", problem)


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Outcomes permuted among the customers of each cutoff (features untouched)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for _, rows in out.groupby("cutoff_at").groups.items():
        order = rng.permutation(len(rows))
        for column in LABEL_COLUMNS:
            out.loc[rows, column] = out.loc[rows, column].to_numpy()[order]
    return out


def flat_metrics(metrics: dict[str, dict[str, float | None]]) -> dict[str, float]:
    """{'model': {'churn_roc_auc': x}} -> {'model.churn_roc_auc': x} for MLflow."""
    return {
        f"{who}.{k}": float(v)
        for who, ms in metrics.items()
        for k, v in ms.items()
        if v is not None and np.isfinite(v)
    }


def write_metrics(result: TrainResult, out: Path, extra: dict[str, object] | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **result.metrics,
        "evaluation_cutoff": result.evaluation_cutoff.date().isoformat(),
        "data_end": result.data_end.date().isoformat(),
        **result.counts,
        **(extra or {}),
    }
    out.write_text(json.dumps(payload, indent=2))
    return out
