"""Metrics for churn probabilities and next-order timing (censoring-aware where it matters)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

ECE_BINS = 10


def expected_calibration_error(
    churned: np.ndarray, probability: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Mean |observed rate - mean predicted| over equal-width probability bins, weighted by size."""
    y, p = np.asarray(churned, dtype=float), np.asarray(probability, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return float(total / len(y))


def top_decile_lift(churned: np.ndarray, probability: np.ndarray) -> float:
    """Churn rate among the 10 % riskiest / overall churn rate (how much a list beats random)."""
    y, p = np.asarray(churned, dtype=float), np.asarray(probability, dtype=float)
    top = np.argsort(-p, kind="stable")[: max(1, len(p) // 10)]
    return float(y[top].mean() / y.mean()) if y.mean() > 0 else float("nan")


def churn_metrics(churned: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Ranking (ROC-AUC, PR-AUC, lift) and calibration (Brier, ECE) of churn probabilities."""
    y = np.asarray(churned, dtype=int)
    p = np.asarray(probability, dtype=float)
    return {
        "churn_roc_auc": float(roc_auc_score(y, p)),
        "churn_pr_auc": float(average_precision_score(y, p)),
        "churn_brier": float(brier_score_loss(y, p)),
        "churn_ece": expected_calibration_error(y, p),
        "top_decile_lift": top_decile_lift(y, p),
        "churn_base_rate": float(y.mean()),
        # mean predicted minus observed churn: > 0 over-predicts churn, < 0 under-predicts
        "calibration_in_the_large": float(p.mean() - y.mean()),
    }


def timing_metrics(observed_days: np.ndarray, predicted_days: np.ndarray) -> dict[str, float]:
    """MAE in days, on customers whose next order was observed (censored ones have no truth)."""
    err = np.abs(np.asarray(observed_days, dtype=float) - np.asarray(predicted_days, dtype=float))
    return {"next_order_mae_days": float(err.mean())}


def interval_coverage(observed_days: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of observed next orders inside [low, high]."""
    t = np.asarray(observed_days, dtype=float)
    return float(np.mean((t >= np.asarray(low)) & (t <= np.asarray(high))))


def concordance_index(time: np.ndarray, observed: np.ndarray, predicted: np.ndarray) -> float:
    """Harrell's C for time to next order with right-censoring: over pairs where the earlier
    time is an observed order, the share where the prediction orders them the same way
    (ties in the prediction count half). Censored customers take part as the later member.

    O(n log n): customers are visited from the latest time back; a Fenwick tree over the
    ranks of the predictions holds everyone strictly later, so each observed order counts its
    comparable, concordant and tied partners with two prefix sums (500,000 rows in seconds,
    where all pairs took minutes)."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(observed, dtype=bool)
    ranks = np.unique(np.asarray(predicted, dtype=float), return_inverse=True)[1].astype(int) + 1
    tree = [0] * (int(ranks.max(initial=0)) + 1)
    order = np.argsort(-t, kind="stable")
    concordant = comparable = 0.0
    later = 0
    start = 0
    while start < len(order):
        end = start
        while end < len(order) and t[order[end]] == t[order[start]]:
            end += 1
        group = order[start:end]
        for i in group[e[group]]:  # partners: everyone already in the tree (strictly later)
            at_most, below = _prefix(tree, ranks[i]), _prefix(tree, ranks[i] - 1)
            concordant += (later - at_most) + 0.5 * (at_most - below)
            comparable += later
        for i in group:
            _add(tree, int(ranks[i]))
        later += len(group)
        start = end
    return float(concordant / comparable) if comparable else float("nan")


def _add(tree: list[int], position: int) -> None:
    while position < len(tree):
        tree[position] += 1
        position += position & -position


def _prefix(tree: list[int], position: int) -> int:
    total = 0
    while position > 0:
        total += tree[position]
        position -= position & -position
    return total
