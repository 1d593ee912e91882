"""One timing curve per customer: P(next order within t days) for every t up to the horizon.

The curve has two parts made consistent by construction:

    P(order within t) = (1 - churn_probability) x F(t),   0 < t <= horizon,

where F is the distribution of the days to the next order *given* that it comes within the
horizon, so P(order within the horizon) = 1 - churn_probability exactly. F is learned as a
multi-class LightGBM over day bins (edges at 3, 7, 14, 21, 30, 45, 60, 75 days, ...) from the
next orders observed inside the horizon (never from made-up dates for customers whose next
order is not yet seen), linear within a bin. On thin data (fewer observed next orders than
`min_observed`) every customer gets BG/NBD's own curve instead, from the parameters frozen at
training and the customer's history: alive, orders arrive at the posterior Poisson rate,
so F(t) = (1 - ((a + T) / (a + T + t))^(r + x)) / (same at the horizon); it differs per
customer (frequency and age), which a pooled model fitted on a few hundred customers does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.bgnbd import BGNBD, bgnbd_inputs

BASE_EDGES_DAYS = (0, 3, 7, 14, 21, 30, 45, 60, 75, 90, 120, 150, 180, 240, 300, 365)
MIN_LAST_BIN_DAYS = 3
PROBABILITY_DAYS = (7, 14, 30)  # order_probability_7d, _14d, _30d in the scores


def bin_edges(horizon_days: int) -> np.ndarray:
    """Day-bin edges from 0 to the horizon; a last bin shorter than 3 days is merged."""
    inner = [e for e in BASE_EDGES_DAYS if e < horizon_days - MIN_LAST_BIN_DAYS or e == 0]
    return np.array([*inner, horizon_days], dtype=float)


def cdf_at(bin_probabilities: np.ndarray, edges: np.ndarray, days: float) -> np.ndarray:
    """F(days) per row from per-bin probabilities (rows x bins), linear within a bin."""
    cumulative = np.column_stack(
        [np.zeros(len(bin_probabilities)), np.cumsum(bin_probabilities, axis=1)]
    )
    k = int(np.clip(np.searchsorted(edges, days, side="right") - 1, 0, len(edges) - 2))
    share = (min(days, edges[-1]) - edges[k]) / (edges[k + 1] - edges[k])
    return np.asarray(cumulative[:, k] + share * (cumulative[:, k + 1] - cumulative[:, k]))


def quantile_days(bin_probabilities: np.ndarray, edges: np.ndarray, q: float) -> np.ndarray:
    """The day at which F reaches q, per row (inverse of the piecewise-linear F)."""
    cumulative = np.cumsum(bin_probabilities, axis=1)
    cumulative /= cumulative[:, -1:]  # guard against rounding: F(horizon) = 1
    k = (cumulative < q).sum(axis=1)  # the bin where F crosses q
    k = np.minimum(k, len(edges) - 2)
    before = np.where(k > 0, cumulative[np.arange(len(k)), np.maximum(k - 1, 0)], 0.0)
    mass = bin_probabilities[np.arange(len(k)), k] / bin_probabilities.sum(axis=1)
    share = np.where(mass > 0, (q - before) / np.where(mass > 0, mass, 1), 0.5)
    return np.asarray(edges[k] + np.clip(share, 0, 1) * (edges[k + 1] - edges[k]))


def bgnbd_bin_probabilities(model: BGNBD, frame: pd.DataFrame, edges: np.ndarray) -> np.ndarray:
    """Per-bin probabilities of the next order's time given it comes within the horizon,
    from BG/NBD for an alive customer (rows x bins)."""
    x, _, age = bgnbd_inputs(frame)
    r, alpha = model.r_, model.alpha_
    waited = np.column_stack(
        [1 - ((alpha + age) / (alpha + age + t)) ** (r + x) for t in edges]
    )  # P(order by t | alive), t at each edge
    within = np.clip(waited[:, -1:], 1e-12, None)
    return np.clip(np.diff(waited, axis=1) / within, 0, None)
