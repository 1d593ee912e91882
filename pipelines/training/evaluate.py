"""`retain evaluate`: the rolling-origin backtest at a cutoff and earlier ones, as JSON and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.cutoffs import season_warning, to_timestamp
from models.verdict import verdict
from pipelines.errors import InputError
from pipelines.home import open_registry
from pipelines.settings import Settings
from pipelines.training import plots
from pipelines.training.backtest import (
    backtest,
    learned_cutoffs,
    recent_cutoff,
    training_cutoffs,
)
from pipelines.training.history import History
from pipelines.training.train import flat_metrics, labelled_frame, require_history
from pipelines.warehouse import data_end as find_data_end
from pipelines.warehouse import first_order


def evaluation_cutoffs(as_of: pd.Timestamp, earlier: int) -> list[pd.Timestamp]:
    """`as_of` and `earlier` cutoffs one month apart before it, oldest first."""
    return [to_timestamp(as_of - pd.DateOffset(months=k)) for k in range(earlier, -1, -1)]


def evaluate(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: pd.Timestamp, earlier: int = 2
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics per scorer at `as_of` (and at each earlier cutoff, with the mean over them) and
    the predictions at `as_of` for the plots."""
    end = find_data_end(con)
    if as_of + pd.Timedelta(days=settings.horizon_days) > end:
        raise InputError(
            "--as-of",
            f"{as_of.date()} + {settings.horizon_days} days is after the end of the data "
            f"({end.date()}): its churn labels are not known yet",
        )
    evals = evaluation_cutoffs(as_of, earlier)
    require_history(History(first_order(con), end), settings, evals[0])
    recent = {r for v in evals if (r := recent_cutoff(v, settings)) is not None}
    cutoffs = sorted(
        {c for v in evals for c in training_cutoffs(v, settings)} | set(evals) | recent
    )
    frame, _ = labelled_frame(con, cutoffs, end, settings)
    bt = backtest(frame, evals, settings, {"model": None})
    key = as_of.date().isoformat()
    report = {
        "as_of": key,
        "horizon_days": settings.horizon_days,
        "cutoff_step_days": settings.cutoff_step_days,
        "data_end": end.date().isoformat(),
        "evaluation_cutoffs": list(bt.by_cutoff),
        "warnings": [
            w
            for v in evals
            if (w := season_warning(learned_cutoffs(frame, v, settings), settings.horizon_days, v))
        ],
        "metrics": bt.by_cutoff[key],
        "verdict": _verdict(bt.by_cutoff[key]),
        "mean_over_cutoffs": _mean_over_cutoffs(bt.by_cutoff),
        "by_cutoff": bt.by_cutoff,
    }
    return report, bt.predictions[key]


def _verdict(metrics: dict[str, dict[str, float | None]]) -> str:
    """The plain verdict on the model at the cutoff (thresholds in `models.verdict`)."""
    model = metrics.get("model", {})
    return verdict(model.get("top_decile_lift"), model.get("churn_ece")).text


def _mean_over_cutoffs(
    by_cutoff: dict[str, dict[str, dict[str, float | None]]],
) -> dict[str, dict[str, float | None]]:
    """Per scorer and metric, the mean over the evaluation cutoffs (None where never defined)."""
    cutoffs = list(by_cutoff.values())
    out: dict[str, dict[str, float | None]] = {}
    for scorer, metrics in cutoffs[-1].items():
        out[scorer] = {}
        for name in metrics:
            values = [float(v) for c in cutoffs if (v := c[scorer].get(name)) is not None]
            out[scorer][name] = float(np.mean(values)) if values else None
    return out


def write_report(report: dict[str, Any], predictions: pd.DataFrame, out: Path) -> list[Path]:
    """The JSON and, beside it, reliability, lift and ROC plots at `as_of`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    stem = out.with_suffix("")
    return [
        out,
        plots.reliability(predictions, Path(f"{stem}_reliability.png")),
        plots.lift(predictions, Path(f"{stem}_lift.png")),
        plots.roc(predictions, Path(f"{stem}_roc.png")),
    ]


def run_evaluation(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: pd.Timestamp, earlier: int, out: Path
) -> tuple[dict[str, Any], list[Path]]:
    """Backtest, write the report and its plots, and log them as an MLflow evaluation run."""
    report, predictions = evaluate(con, settings, as_of, earlier)
    files = write_report(report, predictions, out)
    params = {
        "as_of": report["as_of"],
        "horizon_days": settings.horizon_days,
        "earlier_cutoffs": earlier,
    }
    open_registry(settings).log_evaluation(
        f"evaluate {report['as_of']}", params, flat_metrics(report["metrics"]), files
    )
    return report, files
