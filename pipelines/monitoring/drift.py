"""Drift of the latest scored features against the training reference sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from features.schema import FEATURE_COLUMNS
from pipelines.errors import InputError
from pipelines.monitoring.evidently_adapter import drift_report
from pipelines.settings import Settings


def run_drift(settings: Settings, html: Path, summary: Path) -> dict[str, Any]:
    """Compare feature distributions; write the Evidently HTML and a JSON summary.
    Features with no values on either side (a source without discounts) are listed, not tested."""
    for path, made_by in (
        (settings.reference_path, "retain train"),
        (settings.latest_features_path, "retain score"),
    ):
        if not path.exists():
            raise InputError(str(path), f"not found; run `{made_by}` first")
    columns = list(FEATURE_COLUMNS)
    reference = pd.read_parquet(settings.reference_path, columns=columns)
    current = pd.read_parquet(settings.latest_features_path, columns=columns)
    empty = [c for c in columns if reference[c].isna().all() or current[c].isna().all()]
    kept = [c for c in columns if c not in empty]
    result = drift_report(reference[kept], current[kept], html)
    result |= {
        "columns_without_data": empty,
        "reference_rows": len(reference),
        "current_rows": len(current),
        "threshold": settings.drift_share_threshold,
        "alarm": result["drifted_share"] >= settings.drift_share_threshold,
        "report_html": str(html),
    }
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps(result, indent=2))
    return result
