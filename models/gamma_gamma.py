"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): the anchor for value.

A customer's order values are gamma (shape p, rate nu) around their own mean; nu is gamma
across customers (shape q, rate gamma). Fitted on repeat customers only: x repeat orders with
mean value m each. Paired with BG/NBD's expected orders it gives the textbook spend forecast
(`bgnbd_gg_spend`), which retain's learned forecast must beat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln
from sklearn.base import BaseEstimator

from models.bgnbd import BGNBD, bgnbd_inputs


def _log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per customer, log density of the mean value m of x orders (equation 3 of the note)."""
    p, q, gamma = params
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + gamma)
    )


class GammaGamma(BaseEstimator):
    """Maximum-likelihood Gamma-Gamma: `fit(x, m)` learns p_, q_, gamma_ (gamma_ in money)."""

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, x: np.ndarray, m: np.ndarray) -> GammaGamma:
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        keep = (x > 0) & (m > 0) & np.isfinite(m)
        if keep.sum() < 3:
            raise ValueError("Gamma-Gamma needs at least three repeat customers with a value")
        x, m = x[keep], m[keep]
        scale = float(np.median(m))  # fit in units of the median order value: well conditioned

        def objective(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            ll = _log_likelihood(params, x, m / scale).sum()
            return float(-ll / len(x) + self.penalizer * np.sum(params**2))

        start = np.log([1.0, 2.0, 1.0])
        best = minimize(objective, start, method="L-BFGS-B", bounds=[(-10, 10)] * 3)
        p, q, gamma = np.exp(best.x)
        self.p_, self.q_, self.gamma_ = p, q, gamma * scale
        self.converged_ = bool(best.success)
        return self

    @property
    def params_(self) -> np.ndarray:
        return np.array([self.p_, self.q_, self.gamma_])

    def population_mean(self) -> float:
        """E[order value] of a customer about whom nothing is known (needs q > 1)."""
        return float(self.p_ * self.gamma_ / max(self.q_ - 1, 1e-9))

    def expected_order_value(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """E[order value | x repeat orders of mean m]: the population mean shrunk towards the
        customer's own mean by the weight p x / (p x + q - 1); the population mean without
        repeat orders or a usable value."""
        x = np.asarray(x, dtype=float)
        m = np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
        usable = (x > 0) & (m > 0)
        x = np.where(usable, x, 0.0)
        weight = self.p_ * x / (self.p_ * x + self.q_ - 1)
        return np.where(
            usable, (1 - weight) * self.population_mean() + weight * m, self.population_mean()
        )


def gamma_gamma_inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(x repeat orders, mean order value net of refunds) at the cutoff. The features hold
    the mean over all orders, the first included: a close stand-in for the repeat mean."""
    x = frame["orders_total"].to_numpy(dtype=float) - 1
    return x, frame["net_avg_order_value"].to_numpy(dtype=float)


def bgnbd_gg_spend(frame: pd.DataFrame, days: float, bgnbd: BGNBD) -> np.ndarray:
    """BG/NBD expected orders in `days` x Gamma-Gamma expected order value, per customer,
    Gamma-Gamma fitted on this frame's repeat customers (it needs no labels)."""
    x, m = gamma_gamma_inputs(frame)
    gg = GammaGamma(penalizer=0.0).fit(x, m)
    orders = bgnbd.expected_purchases(days, *bgnbd_inputs(frame))
    return np.asarray(np.nan_to_num(orders) * gg.expected_order_value(x, m), dtype=float)
