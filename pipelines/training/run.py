"""`retain train` as one stage: fit, compare with the champion, log to MLflow, register, gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from features.schema import LABEL_COLUMNS
from models.registry import Registry
from pipelines.files import write_table
from pipelines.settings import Settings
from pipelines.training.train import (
    TrainResult,
    champion_metrics,
    flat_metrics,
    promotion_decision,
    train,
    write_metrics,
)

Status = Callable[[str], Any]  # shows what is being done (a spinner's context manager)


@dataclass
class TrainingOutcome:
    result: TrainResult
    version: str
    promoted: bool
    reason: str
    warnings: list[str]


def run_training(
    con: duckdb.DuckDBPyConnection, settings: Settings, metrics_out: Path | None, status: Status
) -> TrainingOutcome:
    """Train, judge against the champion on the same backtest, log, register, maybe promote."""
    with status("building training frames, fitting the model and the baselines"):
        result = train(con, settings)
    registry = settings.registry()
    champion = registry.champion_version()
    champ, warnings = None, []
    if champion is not None:
        with status(f"refitting champion version {champion} on the same backtest"):
            try:
                champ = champion_metrics(result, registry.load_scorer(champion)[0], settings)
            except Exception as exc:  # an old champion this code cannot load cannot score either
                warnings.append(f"champion version {champion} cannot be re-evaluated: {exc}")
    promoted, why = promotion_decision(result.metrics["model"], champ, settings.promotion_margin)
    if champion is not None and champ is None:
        promoted, why = True, f"champion version {champion} is unusable with this code"
    decision = {"promoted": promoted, "reason": why, "champion_before": champion}
    metrics_path = write_metrics(
        result,
        metrics_out or settings.home / "metrics.json",
        {"promotion": {**decision, "champion_metrics": champ}},
    )
    with status("logging to MLflow and registering the model"):
        version = _register(registry, result, settings, metrics_path)
        registry.tag_version(version, {"promotion": why})
        if promoted:
            registry.promote(version)
    return TrainingOutcome(result, version, promoted, why, warnings)


def _register(
    registry: Registry, result: TrainResult, settings: Settings, metrics_path: Path
) -> str:
    """Log the run (parameters, metrics, files, the pyfunc model); returns the new version."""
    reference_path = write_table(result.reference, settings.reference_path)
    params = {
        "horizon_days": settings.horizon_days,
        "activity_window_days": settings.activity_window_days,
        "training_cutoffs": settings.training_cutoffs,
        "churn_max_trees": settings.churn_max_trees,
        "evaluation_cutoff": result.evaluation_cutoff.date().isoformat(),
        "churn_trees": result.scorer.churn.n_trees_,
        "churn_num_leaves": result.scorer.churn.complexity_[0],
        "churn_min_child_samples": result.scorer.churn.complexity_[1],
        "settings_hash": settings.model_hash(),
        **result.counts,
    }
    example = result.reference.drop(columns=list(LABEL_COLUMNS))
    example = example.rename(columns={"cutoff_at": "as_of"})
    logged = registry.log_run(
        result.scorer,
        params,
        flat_metrics(result.metrics),
        {"metrics": metrics_path, "reference": reference_path},
        example,
    )
    return logged.version
