"""The champion as marketing and data scientists see it: which version, trained on what
window, how it did against BG/NBD and the simple rules at validation, what monitoring says."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.registry import SCORER_LABELS, VALIDATION_CHARTS
from models.verdict import Verdict, verdict
from pipelines.home import Home, open_registry
from pipelines.settings import Settings

MEASURES = {
    "churn_roc_auc": "ROC-AUC",
    "churn_pr_auc": "PR-AUC",
    "churn_brier": "Brier (lower is better)",
}


VALUE_MEASURES = {
    "value_gini": "normalized Gini",
    "value_mae": "MAE (lower is better)",
    "value_decile_error": "worst decile error",
    "value_top_decile_capture": "top-decile capture",
    "value_interval_coverage": "80 % interval coverage",
}


VERSION_COLUMNS = ("version", "champion", "created_at", "training_window", "churn_roc_auc",
                   "churn_brier", "decision")  # fmt: skip


@dataclass
class Overview:
    champion: str | None
    versions: list[dict[str, str]]  # shown as text, newest first
    validation: list[dict[str, str | float | None]] = field(default_factory=list)  # per scorer
    tags: dict[str, str] = field(default_factory=dict)  # of the champion version
    charts: dict[str, str] = field(default_factory=dict)  # name -> data URI of the PNG
    monitor: dict[str, Any] = field(default_factory=dict)  # the newest `retain monitor` report
    verdict: Verdict | None = None  # of the champion at validation
    value: list[dict[str, str | float | None]] = field(default_factory=list)  # spend forecast


def overview(settings: Settings) -> Overview:
    monitor = Home.of(settings).read_monitor_report()
    registry = open_registry(settings)
    champion = registry.champion_version()
    versions = _shown(registry.list_versions())
    if champion is None:
        return Overview(None, versions, monitor=monitor)
    metrics = registry.run_metrics(champion)
    validation = [
        {"scorer": shown, **{label: metrics.get(f"{who}.{m}") for m, label in MEASURES.items()}}
        for who, shown in SCORER_LABELS.items()
        if any(f"{who}.{m}" in metrics for m in MEASURES)
    ]
    charts = {}
    for name in VALIDATION_CHARTS:
        png = registry.chart(champion, name)
        if png is not None:
            charts[name] = "data:image/png;base64," + base64.b64encode(png).decode()
    tags = registry.version_tags(champion)
    judged = verdict(metrics.get("model.top_decile_lift"), metrics.get("model.churn_ece"))
    value = [
        {
            "scorer": shown,
            **{label: metrics.get(f"{who}.{m}") for m, label in VALUE_MEASURES.items()},
        }
        for who, shown in SCORER_LABELS.items()
        if any(f"{who}.{m}" in metrics for m in VALUE_MEASURES)
    ]
    return Overview(champion, versions, validation, tags, charts, monitor, judged, value)


def _shown(versions: pd.DataFrame) -> list[dict[str, str]]:
    """Versions as the page shows them: metrics to 4 decimals, the champion marked as the
    registry's alias says now (the decision column is what was decided at training)."""
    rows = []
    for row in versions.to_dict("records"):
        shown = {c: "" if pd.isna(row.get(c)) else str(row.get(c)) for c in VERSION_COLUMNS}
        for c in ("churn_roc_auc", "churn_brier"):
            shown[c] = f"{row[c]:.4f}" if shown[c] else ""
        shown["champion"] = "champion" if row["champion"] else ""
        rows.append(shown)
    return rows
