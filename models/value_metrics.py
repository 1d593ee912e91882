"""Metrics for a spend forecast against the spend that followed: ranking (normalized Gini,
top-decile capture), error (MAE), spend-weighted decile calibration, interval coverage."""

from __future__ import annotations

import numpy as np

DECILES = 10
MATERIAL_DECILE_SHARE = 0.05  # a decile holding less realised spend is noise in the calibration


def _gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    order = np.lexsort((np.arange(len(predicted)), -predicted))  # highest first, stable
    cumulative = np.cumsum(actual[order]) / actual.sum()
    return float(cumulative.sum() / len(actual) - (len(actual) + 1) / (2 * len(actual)))


def normalized_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of the spend ranked by the forecast over the Gini of the perfect ranking: 1 ranks
    like the truth, 0 like chance (Kaggle's normalized Gini)."""
    y, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if y.sum() <= 0:
        return float("nan")
    return _gini(y, p) / _gini(y, y)


def deciles(predicted: np.ndarray) -> np.ndarray:
    """Decile of each customer by the forecast (0 = the top 10 %), equal counts, stable ties."""
    p = np.asarray(predicted, dtype=float)
    order = np.lexsort((np.arange(len(p)), -p))
    out = np.empty(len(p), dtype=int)
    out[order] = np.arange(len(p)) * DECILES // max(len(p), 1)
    return out


def decile_calibration(actual: np.ndarray, predicted: np.ndarray) -> list[dict[str, float]]:
    """Per decile of the forecast: predicted and realised total spend, the realised share."""
    y, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    which, total = deciles(p), max(y.sum(), 1e-12)
    return [
        {
            "decile": d + 1,
            "predicted": float(p[which == d].sum()),
            "realised": float(y[which == d].sum()),
            "realised_share": float(y[which == d].sum() / total),
        }
        for d in range(DECILES)
    ]


def worst_decile_error(table: list[dict[str, float]]) -> float:
    """Largest |predicted / realised - 1| over deciles holding >= 5 % of the realised spend."""
    errors = [
        abs(row["predicted"] / row["realised"] - 1)
        for row in table
        if row["realised_share"] >= MATERIAL_DECILE_SHARE and row["realised"] > 0
    ]
    return float(max(errors)) if errors else float("nan")


def top_decile_capture(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Share of the realised spend made by the forecast's top 10 % of customers."""
    y = np.asarray(actual, dtype=float)
    return float(y[deciles(predicted) == 0].sum() / y.sum()) if y.sum() > 0 else float("nan")


def value_metrics(
    actual: np.ndarray,
    predicted: np.ndarray,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> dict[str, float | None]:
    """The value metrics of one forecast (interval coverage only with an interval)."""
    y, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    table = decile_calibration(y, p)
    coverage = None
    if low is not None and high is not None:
        coverage = float(np.mean((y >= np.asarray(low)) & (y <= np.asarray(high))))
    return {
        "value_gini": normalized_gini(y, p),
        "value_mae": float(np.mean(np.abs(y - p))),
        "value_decile_error": worst_decile_error(table),
        "value_top_decile_capture": top_decile_capture(y, p),
        "value_sum_ratio": float(p.sum() / y.sum()) if y.sum() > 0 else None,
        "value_interval_coverage": coverage,
    }
