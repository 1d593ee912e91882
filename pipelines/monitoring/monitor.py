"""`retain monitor`: every scoring run kept in the warehouse, judged when its horizon has
passed and estimated before, against the training reference; the retrain signal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from models.registry import Registry
from pipelines.errors import InputError
from pipelines.home import Home, open_registry
from pipelines.monitoring.dashboard import record
from pipelines.monitoring.performance import decide, expected, outcomes, psi, realized, runs
from pipelines.settings import Settings
from pipelines.warehouse import has_table


def monitor(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp,
    references: dict[str, np.ndarray],
) -> dict[str, Any]:
    """monitor.json: the decision, its reasons, and one entry per scoring run; `references`
    are the training-reference probabilities per version (`reference_probabilities`)."""
    if not has_table(con, "scores"):
        raise InputError(
            str(Home.of(settings).warehouse), "no scoring runs yet; run `retain score`"
        )
    registry = open_registry(settings)
    entries = []
    for run in runs(con).to_dict("records"):
        run_as_of = pd.Timestamp(str(run["as_of"]))
        if run_as_of > as_of:  # scored after the monitor's date (a replay): not yet made then
            continue
        frame = outcomes(con, run_as_of, settings.horizon_days)
        matured = run_as_of + pd.Timedelta(days=settings.horizon_days) <= as_of
        version = str(run["model_version"])
        entry: dict[str, Any] = {
            "as_of": str(run_as_of.date()),
            "model_version": version,
            "customers": int(str(run["customers"])),
            "matured": bool(matured),
            "expected": expected(frame["churn_probability"].to_numpy()),
            "realized": realized(frame) if matured else None,
            "realized_by_value_tier": {
                str(tier): realized(rows) for tier, rows in frame.groupby("value_tier")
            }
            if matured
            else None,
            "risk_tiers": frame["risk_tier"].value_counts(normalize=True).round(4).to_dict(),
        }
        reference = references.get(version)
        if reference is not None:
            entry["prediction_psi"] = psi(reference, frame["churn_probability"].to_numpy())
            entry["expected_vs_training"] = {
                k: entry["expected"][k] - v for k, v in expected(reference).items()
            }
        entries.append(entry)
    training_brier = _training_brier(registry)
    decision, reasons = decide(entries, training_brier, settings.monitor)
    return {"as_of": str(as_of.date()), "decision": decision, "reasons": reasons, "runs": entries}


def reference_probabilities(
    settings: Settings, known: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """The champion's churn probabilities on the training reference sample (for prediction
    drift), added to `known` (a cache across months of a replay: one model load per version)."""
    known = dict(known or {})
    registry = open_registry(settings)
    version = registry.champion_version()
    home = Home.of(settings)
    if version is None or version in known or not home.reference.exists():
        return known
    scorer, _ = registry.load_scorer(version)
    sample = home.read_reference()
    at = pd.Timestamp(sample["cutoff_at"].iloc[0]) if len(sample) else pd.Timestamp(0)
    scored = scorer.score(sample, at, at, version, with_reasons=False)
    return known | {version: scored["churn_probability"].to_numpy()}


def _training_brier(registry: Registry) -> dict[str, float]:
    """Each version's validation Brier score (what it promised at training)."""
    versions = registry.list_versions()
    if versions.empty:
        return {}
    return {
        str(v): float(b)
        for v, b in zip(versions["version"], versions["churn_brier"], strict=True)
        if b is not None and b == b
    }


def log_decision(settings: Settings, report: dict[str, Any]) -> None:
    """The decision on the champion version (tag `monitor`) and the newest matured run's
    realized metrics as an MLflow run, so the history of judgements sits beside the model."""
    registry = open_registry(settings)
    version = registry.champion_version()
    if version is None:
        return
    registry.tag_version(
        version,
        {"monitor": f"{report['as_of']}: {report['decision']}; " + "; ".join(report["reasons"])},
    )
    matured = [r for r in report["runs"] if r["matured"] and r["realized"]]
    metrics = {
        f"realized.{k}": float(v)
        for k, v in (matured[-1]["realized"] if matured else {}).items()
        if v is not None
    }
    params = {"as_of": report["as_of"], "decision": report["decision"], "champion": version}
    registry.log_evaluation(f"monitor {report['as_of']}", params, metrics, [])


def write_monitor(report: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float))
    return out


def watch(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp,
    known: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One monitoring pass at `as_of`: the report, its runs recorded in the Evidently
    workspace; and the reference probabilities, to pass back as `known` next time."""
    references = reference_probabilities(settings, known)
    report = monitor(con, settings, as_of, references)
    report["recorded_in_workspace"] = record(con, settings, report, references)
    write_monitor(report, Home.of(settings).monitor_report)
    return report, references
