"""How good were the scores we sent: realized metrics once a run's horizon has passed,
expected ones (from the calibrated probabilities) before, prediction drift, a retrain signal.

A scoring run is judged only on orders in `[as_of, as_of + horizon)` and only once that window
is over (`matured`), never on anything later. Before that, calibrated probabilities imply what
to expect: the churn rate (their mean), the Brier score (mean p(1 - p)) and the ROC-AUC (the
chance that a churner outranks a stayer when each customer churns with probability p, as
NannyML's CBPE estimates it).
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from features.schema import COMPLETED_STATUS
from features.sql import days_between
from models.metrics import churn_metrics, interval_coverage
from pipelines.settings import MonitorSettings

PSI_BINS = 10


def runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The scoring runs kept in the warehouse: as_of, model_version, customers."""
    return con.execute(
        "SELECT as_of, any_value(model_version) AS model_version, count(*) AS customers "
        "FROM scores GROUP BY as_of ORDER BY as_of"
    ).df()


def outcomes(
    con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp, horizon_days: int
) -> pd.DataFrame:
    """The run's scores with what happened in its horizon (and nothing after it): churned,
    days to the first completed order inside the horizon."""
    return con.execute(
        f"""
        WITH nxt AS (
            SELECT customer_id, min(ordered_at) AS first_at FROM orders
            WHERE status = '{COMPLETED_STATUS}' AND ordered_at >= ?
              AND ordered_at < ? + INTERVAL ({horizon_days}) DAY
            GROUP BY customer_id
        )
        SELECT s.customer_id, s.churn_probability, s.risk_tier, s.value_tier,
            s.next_order_p10_days, s.next_order_p90_days,
            (n.first_at IS NULL)::INT AS churned,
            {days_between("n.first_at", "s.as_of")} AS days_to_next_order
        FROM scores s LEFT JOIN nxt n USING (customer_id)
        WHERE s.as_of = ?
        """,
        [as_of, as_of, as_of],
    ).df()


def realized(frame: pd.DataFrame) -> dict[str, float | None]:
    """The metrics of a matured run against what happened."""
    y, p = frame["churned"].to_numpy(int), frame["churn_probability"].to_numpy(float)
    if len(np.unique(y)) < 2:
        return {"customers": len(y), "churn_rate": float(y.mean()) if len(y) else None}
    m = churn_metrics(y, p)
    seen = frame[frame["churned"] == 0]
    return {
        "customers": len(y),
        "roc_auc": m["churn_roc_auc"],
        "pr_auc": m["churn_pr_auc"],
        "brier": m["churn_brier"],
        "ece": m["churn_ece"],
        "calibration_in_the_large": m["calibration_in_the_large"],
        "top_decile_lift": m["top_decile_lift"],
        "churn_rate": m["churn_base_rate"],
        "interval_coverage": interval_coverage(
            seen["days_to_next_order"].to_numpy(float),
            seen["next_order_p10_days"].to_numpy(float),
            seen["next_order_p90_days"].to_numpy(float),
        )
        if len(seen)
        else None,
    }


def expected(p: np.ndarray) -> dict[str, float]:
    """What calibrated probabilities imply before any label is known."""
    p = np.asarray(p, dtype=float)
    return {
        "churn_rate": float(p.mean()),
        "brier": float(np.mean(p * (1 - p))),
        "roc_auc": expected_roc_auc(p),
    }


def expected_roc_auc(p: np.ndarray) -> float:
    """E[ROC-AUC] when each customer churns with probability p and is ranked by p (CBPE):
    the sum over pairs of P(i churns) P(j stays) for p_i > p_j (half for ties), over the
    expected number of churner-stayer pairs."""
    p = np.sort(np.asarray(p, dtype=float))
    stays = 1 - p
    _, group, _ = np.unique(p, return_inverse=True, return_counts=True)
    group_stays = np.bincount(group, weights=stays)
    below = np.concatenate([[0.0], np.cumsum(group_stays)[:-1]])  # stayers strictly below
    pairs = p * (below[group] + 0.5 * (group_stays[group] - stays))
    total = p.sum() * stays.sum() - float(np.sum(p * stays))  # pairs of two customers
    return float(pairs.sum() / total) if total > 0 else float("nan")


def psi(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of probabilities over deciles of the reference."""
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    ref = np.histogram(reference, edges)[0] / len(reference)
    cur = np.histogram(current, edges)[0] / len(current)
    ref, cur = np.clip(ref, 1e-6, None), np.clip(cur, 1e-6, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def decide(
    runs_: list[dict[str, Any]], training_brier: dict[str, float], signal: MonitorSettings
) -> tuple[str, list[str]]:
    """ok / watch / retrain from the matured runs, newest last: a breach (realized Brier over
    the version's validation Brier by the margin, calibration-in-the-large off by its margin,
    prediction PSI over its limit) on `consecutive` runs in a row says retrain."""
    breaches = []
    for run in runs_:
        r = run.get("realized") or {}
        if not run["matured"] or r.get("customers", 0) < signal.min_customers or "brier" not in r:
            continue
        reasons = []
        base = training_brier.get(str(run["model_version"]))
        if base is not None and r["brier"] > base + signal.brier_margin:
            reasons.append(
                f"{run['as_of']}: realized Brier {r['brier']:.4f} vs {base:.4f} at training"
            )
        noise = 3 * np.sqrt(run["expected"]["brier"] / r["customers"])  # 3 SE of the mean
        if abs(r["calibration_in_the_large"]) > max(signal.calibration_margin, noise):
            reasons.append(
                f"{run['as_of']}: mean predicted minus observed churn {r['calibration_in_the_large']:+.3f}"
            )
        if run.get("prediction_psi", 0) > signal.psi_limit:
            reasons.append(f"{run['as_of']}: churn-probability PSI {run['prediction_psi']:.3f}")
        breaches.append(reasons)
    recent = breaches[-signal.consecutive :]
    if len(recent) == signal.consecutive and all(recent):
        return "retrain", [reason for found in recent for reason in found]
    if breaches and breaches[-1]:
        return "watch", breaches[-1]
    return "ok", []
