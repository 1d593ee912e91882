"""Training run: multi-cutoff frames, a time-honest validation, final fit, MLflow, registry.

Validation follows the rolling-origin rule (DESIGN.md section 2): the evaluation cutoff v
is the latest month start whose horizon ends by the data end; the validation models
train only on cutoffs c with c + horizon <= v, so no label they see overlaps v's window.
The registered model is then refit on all labelled cutoffs up to v.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.cutoffs import last_labelled_cutoff, monthly_cutoffs
from features.frame import build_frame
from features.schema import FEATURE_COLUMNS
from models.baselines import RecencyBaseline
from models.churn import ChurnModel
from models.metrics import churn_metrics, timing_metrics
from models.next_order import NextOrderModel, observed_within
from models.scorer import Scorer, value_tier_thresholds
from pipelines.io import data_end as find_data_end
from pipelines.settings import Settings

REFERENCE_SAMPLE_ROWS = 5_000


@dataclass
class Plan:
    """The cutoffs of one training run."""

    data_end: pd.Timestamp
    evaluation_cutoff: pd.Timestamp
    validation_train_cutoffs: list[pd.Timestamp]
    final_cutoffs: list[pd.Timestamp]


@dataclass
class TrainResult:
    metrics: dict[str, dict[str, float]]
    scorer: Scorer
    reference: pd.DataFrame
    plan: Plan
    counts: dict[str, int] = field(default_factory=dict)


def plan_cutoffs(data_end: pd.Timestamp, settings: Settings) -> Plan:
    """Evaluation cutoff v and the monthly training cutoffs before it."""
    v = last_labelled_cutoff(data_end, settings.horizon_days)
    last_before_v = last_labelled_cutoff(v, settings.horizon_days)
    n = settings.training_cutoffs
    return Plan(
        data_end=data_end,
        evaluation_cutoff=v,
        validation_train_cutoffs=monthly_cutoffs(last_before_v, n),
        final_cutoffs=monthly_cutoffs(v, n),
    )


def fit_scorer(frame: pd.DataFrame, settings: Settings) -> Scorer:
    """Both models and the value-tier thresholds from one labelled multi-cutoff frame."""
    features = tuple(FEATURE_COLUMNS)
    churn = ChurnModel(features, random_state=settings.random_state).fit(frame)
    timing = NextOrderModel(
        features, settings.horizon_days, random_state=settings.random_state
    ).fit(frame)
    latest = frame[frame["cutoff_at"] == frame["cutoff_at"].max()]
    return Scorer(
        churn=churn,
        next_order=timing,
        horizon_days=settings.horizon_days,
        high_risk_threshold=settings.high_risk_threshold,
        medium_risk_threshold=settings.medium_risk_threshold,
        tier_thresholds=value_tier_thresholds(latest["spend_365d"]),
        settings_hash=settings.model_hash(),
    )


def evaluate(
    train: pd.DataFrame, test: pd.DataFrame, scorer: Scorer, horizon_days: int
) -> dict[str, dict[str, float]]:
    """Model vs the recency rule on the evaluation cutoff (labels never seen in training)."""
    baseline = RecencyBaseline(horizon_days).fit(train)
    y = test["churned"].to_numpy(dtype=int)
    seen = observed_within(test, horizon_days)
    model_days = scorer.next_order.predict(seen)["expected_days_to_next_order"].to_numpy()
    return {
        "model": {
            **churn_metrics(y, scorer.churn.predict_proba(test)),
            **timing_metrics(seen["days_to_next_order"].to_numpy(), model_days),
        },
        "recency_baseline": {
            **churn_metrics(y, baseline.predict_proba(test)),
            **timing_metrics(seen["days_to_next_order"].to_numpy(), baseline.predict_days(seen)),
        },
    }


def train(con: duckdb.DuckDBPyConnection, settings: Settings) -> TrainResult:
    """Build frames, validate, refit on everything labelled; no MLflow here (see run_training)."""
    plan = plan_cutoffs(find_data_end(con), settings)
    cutoffs = sorted({*plan.validation_train_cutoffs, *plan.final_cutoffs})
    frame = build_frame(
        con, cutoffs, settings.activity_window_days, settings.horizon_days, plan.data_end
    )
    frame = frame[frame["churned"].notna()]
    val_train = frame[frame["cutoff_at"].isin(plan.validation_train_cutoffs)]
    test = frame[frame["cutoff_at"] == plan.evaluation_cutoff]
    if val_train.empty or test.empty:
        raise ValueError(
            f"not enough history: need orders before {plan.validation_train_cutoffs[0].date()} "
            f"and labels up to {plan.data_end.date()}"
        )
    metrics = evaluate(val_train, test, fit_scorer(val_train, settings), settings.horizon_days)
    final = frame[frame["cutoff_at"].isin(plan.final_cutoffs)]
    scorer = fit_scorer(final, settings)
    reference = test.sample(
        min(len(test), REFERENCE_SAMPLE_ROWS), random_state=settings.random_state
    )
    counts = {
        "training_rows": len(final),
        "validation_rows": len(test),
        "training_cutoffs": final["cutoff_at"].nunique(),
    }
    return TrainResult(metrics, scorer, reference, plan, counts)


def flat_metrics(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """{'model': {'churn_roc_auc': x}} -> {'model.churn_roc_auc': x} for MLflow."""
    return {f"{who}.{k}": v for who, ms in metrics.items() for k, v in ms.items() if np.isfinite(v)}


def write_metrics(result: TrainResult, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **result.metrics,
        "evaluation_cutoff": result.plan.evaluation_cutoff.date().isoformat(),
        "data_end": result.plan.data_end.date().isoformat(),
        **result.counts,
    }
    out.write_text(json.dumps(payload, indent=2))
    return out
