"""Drift of the latest scored features against the training reference sample, on a bounded
sample of customers (never the whole base in memory)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from features.schema import FEATURE_COLUMNS
from features.sql import sql_text
from pipelines.errors import InputError
from pipelines.home import Home
from pipelines.monitoring.evidently_adapter import drift_report
from pipelines.settings import Settings

SAMPLE_SEED = 7  # the same customers are drawn from the same file every time


def sample_sql(select: str, rows: int) -> str:
    """A repeatable reservoir sample of `rows` rows of a query's result (filters applied first)."""
    return f"SELECT * FROM ({select}) USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE ({SAMPLE_SEED})"


def drift_frames(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(reference, current sample, features without data on either side) of the latest scoring."""
    home = Home.of(settings)
    if not home.features.exists():
        raise InputError(str(home.features), "not found; run `retain score` first")
    columns = list(FEATURE_COLUMNS)
    reference = home.read_reference(columns)
    listed = ", ".join(f'"{c}"' for c in columns)
    scan = f"SELECT {listed} FROM read_parquet({sql_text(str(home.features))})"
    current = duckdb.connect().execute(sample_sql(scan, settings.monitor.sample_rows)).df()
    empty = [c for c in columns if reference[c].isna().all() or current[c].isna().all()]
    kept = [c for c in columns if c not in empty]
    return reference[kept], current[kept], empty


def run_drift(settings: Settings, html: Path, summary: Path) -> dict[str, Any]:
    """Compare feature distributions; write the Evidently HTML and a JSON summary.
    Features with no values on either side (a source without discounts) are listed, not tested."""
    reference, current, empty = drift_frames(settings)
    result = drift_report(reference, current, html)
    result |= {
        "columns_without_data": empty,
        "reference_rows": len(reference),
        "current_rows": len(current),
        "sample_rows": settings.monitor.sample_rows,
        "threshold": settings.drift_share_threshold,
        "alarm": result["drifted_share"] >= settings.drift_share_threshold,
        "report_html": str(html),
    }
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps(result, indent=2))
    return result
