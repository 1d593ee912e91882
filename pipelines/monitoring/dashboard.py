"""The monitoring history in Evidently's workspace: one set of snapshots per scoring run,
dated with its as-of and tagged with its model version, refreshed when the run matures.

An index beside the workspace (`retain_runs.json`) remembers which runs are recorded and in
which state, so `retain monitor` every night adds only what is new.
"""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from pipelines.home import Home
from pipelines.monitoring.drift import drift_frames, sample_sql
from pipelines.monitoring.evidently_adapter import (
    data_drift_snapshot,
    open_project,
    replace_runs,
    run_snapshots,
)
from pipelines.settings import Settings

INDEX = "retain_runs.json"


def figures(run: dict[str, Any]) -> dict[str, float]:
    """A run's monitor.json entry as flat numbers: expected_*, realized_*, prediction_psi."""
    found = {f"expected_{k}": v for k, v in run["expected"].items()}
    found |= {f"realized_{k}": v for k, v in (run.get("realized") or {}).items()}
    found["prediction_psi"] = run.get("prediction_psi")
    found["customers"] = run["customers"]
    return {k: float(v) for k, v in found.items() if v is not None and math.isfinite(float(v))}


def record(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    report: dict[str, Any],
    references: dict[str, np.ndarray],
) -> int:
    """Record the runs of `report` that are new or have matured since; the count recorded.
    Data drift goes with the run whose features are the latest scored ones, once."""
    workspace = Home.of(settings).evidently
    open_project(workspace)
    index_path = workspace / INDEX
    index: dict[str, Any] = json.loads(index_path.read_text()) if index_path.exists() else {}
    features_as_of = _latest_features_as_of(settings)
    recorded = 0
    for run in report["runs"]:
        key, version = f"{run['as_of']}|{run['model_version']}", str(run["model_version"])
        seen = index.get(key, {"matured": None, "figures": [], "drift": []})
        with_drift = run["as_of"] == features_as_of and not seen["drift"]
        if seen["matured"] == run["matured"] and not with_drift:
            continue
        when = pd.Timestamp(run["as_of"]).to_pydatetime()
        reference = references.get(version)
        predictions = (
            (_probabilities(con, run["as_of"], settings), pd.DataFrame({"churn_probability": reference}))
            if reference is not None
            else None
        )  # fmt: skip
        made = run_snapshots(figures(run), when, version, predictions)
        seen["figures"] = replace_runs(workspace, seen["figures"], made)
        if with_drift:
            reference_features, current, _ = drift_frames(settings)
            drift = data_drift_snapshot(current, reference_features, when, version)
            seen["drift"] = replace_runs(workspace, [], [drift])
        index[key] = {**seen, "matured": run["matured"]}
        recorded += 1
    index_path.write_text(json.dumps(index, indent=2))
    return recorded


def _probabilities(con: duckdb.DuckDBPyConnection, as_of: str, settings: Settings) -> pd.DataFrame:
    """A bounded sample of the run's churn probabilities."""
    select = "SELECT churn_probability FROM scores WHERE as_of = ?"
    rows = settings.monitor.sample_rows
    return con.execute(sample_sql(select, rows), [pd.Timestamp(as_of)]).df()


def _latest_features_as_of(settings: Settings) -> str | None:
    path = Home.of(settings).features
    if not path.exists() or not Home.of(settings).reference.exists():
        return None
    found = (
        duckdb.connect().execute("SELECT max(as_of) FROM read_parquet(?)", [str(path)]).fetchone()
    )
    return str(pd.Timestamp(found[0]).date()) if found and found[0] is not None else None
