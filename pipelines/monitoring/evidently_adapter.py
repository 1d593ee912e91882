"""The Evidently adapter (0.7 API): the only module that imports evidently."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, html: Path) -> dict[str, Any]:
    """Run Evidently's data-drift preset; save HTML; return per-column drift and the share.

    Evidently's dict has no per-column flag: a column drifted when its ValueDrift score
    is at or over the threshold for distance methods (Wasserstein, Jensen-Shannon) or
    under it for p-value tests (K-S, chi-square), as its DriftedColumnsCount counts.
    """
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    html.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html))
    columns: dict[str, dict[str, Any]] = {}
    share = None
    for metric in snapshot.dict()["metrics"]:
        config, value = metric.get("config", {}), metric.get("value")
        kind = config.get("type", "")
        if kind.endswith("ValueDrift"):
            method, threshold = config.get("method", ""), float(config.get("threshold", 0.1))
            drifted = value < threshold if "p_value" in method else value >= threshold
            columns[config["column"]] = {
                "method": method,
                "score": float(value),
                "threshold": threshold,
                "drifted": bool(drifted),
            }
        elif kind.endswith("DriftedColumnsCount"):
            share = float(value["share"])
    drifted_share = (
        share
        if share is not None
        else (sum(c["drifted"] for c in columns.values()) / max(len(columns), 1))
    )
    return {"drifted_share": drifted_share, "columns": columns}


PROJECT = "retain"
# (tab, title, [(legend, metric, column)]): every figure is a MeanValue of a one-row frame
# of retain's own figures (Evidently 0.7 has no Brier or ECE metric), beside Evidently's own
# prediction drift (ValueDrift) and drifted-feature share (DriftedColumnsCount).
PANELS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("Performance", "ROC-AUC: realized (matured runs) and expected (CBPE)",
     [("realized", "MeanValue", "realized_roc_auc"), ("expected", "MeanValue", "expected_roc_auc")]),
    ("Performance", "Brier score: realized and expected",
     [("realized", "MeanValue", "realized_brier"), ("expected", "MeanValue", "expected_brier")]),
    ("Performance", "Calibration-in-the-large: mean predicted minus observed churn",
     [("matured runs", "MeanValue", "realized_calibration_in_the_large")]),
    ("Performance", "Churn rate: observed and expected",
     [("observed", "MeanValue", "realized_churn_rate"), ("expected", "MeanValue", "expected_churn_rate")]),
    ("Drift", "Prediction drift: churn-probability PSI against training",
     [("PSI (retain)", "MeanValue", "prediction_psi"), ("PSI (Evidently)", "ValueDrift", "churn_probability")]),
    ("Drift", "Share of drifted features (latest scored features)",
     [("share", "DriftedColumnsCount", "")]),
]  # fmt: skip


def open_project(workspace: Path) -> tuple[Any, Any]:
    """The workspace and its "retain" project, made with its dashboard panels when new."""
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import line_plot_panel
    from evidently.ui.workspace import Workspace

    ws = Workspace.create(str(workspace))
    found = ws.search_project(PROJECT)
    if found:
        return ws, found[0]
    project = ws.create_project(PROJECT, description="retain: how the scores we sent did")
    for tab, title, series in PANELS:
        values = [
            PanelMetric(
                legend=legend,
                metric=metric,
                metric_labels={"column": column} if column else {"value_type": "share"},
            )
            for legend, metric, column in series
        ]
        project.dashboard.add_panel(line_plot_panel(title, values), tab=tab)
    return ws, project


def _stamp(version: str, when: datetime) -> dict[str, Any]:
    """A snapshot's date (the scoring run's as-of) and its model version, as tag and metadata."""
    return {
        "timestamp": when,
        "tags": [f"model_version:{version}"],
        "metadata": {"model_version": version},
    }


def run_snapshots(
    figures: dict[str, float],
    when: datetime,
    version: str,
    predictions: tuple[pd.DataFrame, pd.DataFrame] | None,
) -> list[Any]:
    """Snapshots of one scoring run: retain's figures, and prediction drift (current sample,
    training reference) when the version's reference is known."""
    from evidently import Report
    from evidently.metrics import MeanValue, ValueDrift

    frame = pd.DataFrame({k: [v] for k, v in figures.items()})
    made = [
        Report([MeanValue(column=c) for c in frame.columns]).run(
            frame, None, **_stamp(version, when)
        )
    ]
    if predictions is not None:
        report = Report([ValueDrift(column="churn_probability", method="psi")])
        made.append(report.run(*predictions, **_stamp(version, when)))
    return made


def data_drift_snapshot(
    current: pd.DataFrame, reference: pd.DataFrame, when: datetime, version: str
) -> Any:
    """Evidently's data drift of a run's sampled features against the training reference."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    return Report([DataDriftPreset()]).run(current, reference, **_stamp(version, when))


def replace_runs(workspace: Path, old: list[str], snapshots: list[Any]) -> list[str]:
    """Delete a run's earlier snapshots (`old` ids) and add the new ones; their ids."""
    ws, project = open_project(workspace)
    known = {str(s) for s in ws.list_runs(project.id)}
    for snapshot_id in old:
        if snapshot_id in known:
            ws.delete_run(project.id, snapshot_id)
    return [str(ws.add_run(project.id, s, include_data=False).id) for s in snapshots]
