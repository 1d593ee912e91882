"""The Evidently adapter (0.7 API): the only module that imports evidently."""

from __future__ import annotations

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
