"""`retain train` as one stage: fit, judge against the champion as deployed, log, register."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from features.schema import LABEL_COLUMNS
from models.churn import ChurnModel
from models.registry import SCORER_LABELS, VALIDATION_CHARTS, Registry
from models.scorer import VALUE_METHOD_TEXT
from pipelines.files import write_table
from pipelines.home import Home, open_registry
from pipelines.settings import Settings
from pipelines.training import plots
from pipelines.training.gate import (
    DATA_END_TAG,
    GATE_WINDOW_TAG,
    LAST_CUTOFF_TAG,
    Decision,
    judge,
)
from pipelines.training.train import (
    METRIC_NAMES,
    TrainResult,
    flat_metrics,
    labelled_frame,
    train,
    write_metrics,
)

Status = Callable[[str], Any]  # shows what is being done (a spinner's context manager)


@dataclass
class TrainingOutcome:
    result: TrainResult
    version: str
    decision: Decision


def run_training(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    metrics_out: Path | None,
    status: Status,
    as_of: pd.Timestamp | None = None,
    shuffle_labels: bool = False,
) -> TrainingOutcome:
    """Train (on events before `as_of` when given), judge against the champion as registered,
    log the run, register the version and move the champion alias when the gate says so."""
    registry = open_registry(settings)  # an unreachable tracking server stops before the work
    with status("building training frames, fitting the model and the baselines"):
        result = train(con, settings, as_of, shuffle_labels)
    with status("judging the champion as registered and the challenger on the same customers"):

        def rows_at(cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
            return labelled_frame(con, cutoffs, result.data_end, settings)[0]

        decision = judge(result, registry, settings, rows_at)
    metrics_path = write_metrics(
        result, metrics_out or Home.of(settings).metrics, {"promotion": decision.as_dict()}
    )
    with status("logging to MLflow and registering the model"):
        version = _register(registry, result, settings, metrics_path)
        registry.tag_version(version, _tags(result, decision))
        if decision.promoted:
            registry.promote(version)
    return TrainingOutcome(result, version, decision)


def _tags(result: TrainResult, decision: Decision) -> dict[str, str]:
    """What `retain models list` shows of a version: its training cutoffs within the data
    (those with labelled customers), its data end and the decision with what it was judged on."""
    first, last = result.training_window
    return {
        "data_end": str(result.data_end.date()),
        DATA_END_TAG: result.data_end.isoformat(),
        "training_window": f"{first.date()} .. {last.date()}",
        LAST_CUTOFF_TAG: str(last.date()),
        GATE_WINDOW_TAG: decision.window_text,
        "evaluation_cutoff": str(result.evaluation_cutoff.date()),
        "promotion": decision.reason,
        "promoted": str(decision.promoted).lower(),
        "value_method": VALUE_METHOD_TEXT.get(
            result.scorer.value_method, result.scorer.value_method
        ),
    }


def recent_params(result: TrainResult) -> dict[str, object]:
    """What the partly observed cutoff after the fold showed (models.recent_rate), if any."""
    recent = result.scorer.recent_rate
    if recent is None:
        return {"recent_level": "not used (no such cutoff, or the coming season never seen)"}
    return {
        "recent_observed_days": recent.observed_days,
        "recent_orders_observed": recent.observed_orders,
        "recent_orders_expected": round(recent.predicted_orders, 1),
        "recent_z": round(recent.z, 2),
        "recent_log_odds_shift": round(recent.log_odds_shift, 4),
    }


def category_feature_params(churn: ChurnModel) -> dict[str, object]:
    """Whether the churn trees use the category features, and on what evidence: the purged
    later fold (models.churn) keeps them only when they save log loss there."""
    used = {None: "absent (no categories)", True: "used", False: "not used"}
    params: dict[str, object] = {
        "churn_category_features": used[churn.optional_used_],
        "churn_tuning_cutoffs_purged": churn.purged_cutoffs_,
    }
    if churn.optional_gain_ is not None:
        saved, error = churn.optional_gain_
        params["churn_category_log_loss_saved"] = f"{saved:.5f} (SE {error:.5f})"
    return params


def _register(
    registry: Registry, result: TrainResult, settings: Settings, metrics_path: Path
) -> str:
    """Log the run (parameters, metrics, files, the pyfunc model); returns the new version."""
    reference_path = write_table(result.reference, Home.of(settings).reference)
    params = {
        "horizon_days": settings.horizon_days,
        "activity_window_days": settings.activity_window_days,
        "training_cutoffs": settings.training_cutoffs,
        "churn_max_trees": settings.churn_max_trees,
        "data_end": result.data_end.date().isoformat(),
        "evaluation_cutoff": result.evaluation_cutoff.date().isoformat(),
        "churn_trees": result.scorer.churn.n_trees_,
        "churn_num_leaves": result.scorer.churn.complexity_[0],
        "churn_min_child_samples": result.scorer.churn.complexity_[1],
        **category_feature_params(result.scorer.churn),
        "settings_hash": settings.model_hash(),
        "value_method": result.scorer.value_method,
        **result.counts,
        **recent_params(result),
    }
    example = result.reference.drop(columns=list(LABEL_COLUMNS))
    example = example.rename(columns={"cutoff_at": "as_of"})
    figures = Home.of(settings).figures
    shown = result.predictions.rename(
        columns={k: SCORER_LABELS[v] for k, v in METRIC_NAMES.items()}
    )
    charts = {
        "reliability": plots.reliability(shown, figures / VALIDATION_CHARTS["reliability"]),
        "lift": plots.lift(shown, figures / VALIDATION_CHARTS["lift"]),
    }
    logged = registry.log_run(
        result.scorer,
        params,
        flat_metrics(result.metrics),
        {"metrics": metrics_path, "reference": reference_path, **charts},
        example,
    )
    return logged.version
