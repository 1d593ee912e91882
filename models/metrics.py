"""Metrics for churn probabilities and next-order timing."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def churn_metrics(churned: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """ROC-AUC (ranking), PR-AUC (ranking of the churners), Brier (calibration + sharpness)."""
    y = np.asarray(churned, dtype=int)
    p = np.asarray(probability, dtype=float)
    return {
        "churn_roc_auc": float(roc_auc_score(y, p)),
        "churn_pr_auc": float(average_precision_score(y, p)),
        "churn_brier": float(brier_score_loss(y, p)),
        "churn_base_rate": float(y.mean()),
    }


def timing_metrics(observed_days: np.ndarray, predicted_days: np.ndarray) -> dict[str, float]:
    """MAE in days, on customers whose next order was observed (censored ones have no truth)."""
    err = np.abs(np.asarray(observed_days, dtype=float) - np.asarray(predicted_days, dtype=float))
    return {"next_order_mae_days": float(err.mean())}
