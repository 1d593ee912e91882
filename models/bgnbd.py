"""BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): closed form.

Each customer buys at a Poisson rate (gamma across customers, r and alpha) and after each
purchase drops out with probability p (beta across customers, a and b). Inputs per customer:
x repeat purchases, t_x time of the last purchase and T time since the first, all measured
from the first purchase, in any one time unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1
from sklearn.base import BaseEstimator


def _log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = common + betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.full_like(alive, -np.inf)
    dropped[repeat] = (
        common[repeat]
        + betaln(a + 1, b + x[repeat] - 1)
        - betaln(a, b)
        - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return np.logaddexp(alive, dropped)


class BGNBD(BaseEstimator):
    """Maximum-likelihood BG/NBD. `fit` learns r_, alpha_, a_, b_ (alpha_ in the input's unit).

    Four parameters are pinned down long before a million histories: above `max_fit_rows`,
    the fit uses a random sample of that many (fixed by `random_state`), which turns minutes
    into seconds on large bases; predictions still cover every customer.
    """

    def __init__(
        self, penalizer: float = 0.0, max_fit_rows: int | None = 200_000, random_state: int = 0
    ) -> None:
        self.penalizer = penalizer
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    def fit(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBD:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        if self.max_fit_rows is not None and len(x) > self.max_fit_rows:
            rng = np.random.default_rng(self.random_state)
            keep = np.sort(rng.choice(len(x), self.max_fit_rows, replace=False))
            x, t_x, T = x[keep], t_x[keep], T[keep]
        scale = max(float(np.median(T)), 1e-9)  # fit in units of the median age: well conditioned

        def objective(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            ll = _log_likelihood(params, x, t_x / scale, T / scale).sum()
            return float(-ll / len(x) + self.penalizer * np.sum(params**2))

        best = minimize(objective, np.zeros(4), method="L-BFGS-B", bounds=[(-10, 10)] * 4)
        r, alpha, a, b = np.exp(best.x)
        self.r_, self.alpha_, self.a_, self.b_ = r, alpha * scale, a, b
        self.converged_ = bool(best.success)
        self.log_likelihood_ = float(_log_likelihood(self.params_, x, t_x, T).sum())
        return self

    @property
    def params_(self) -> np.ndarray:
        return np.array([self.r_, self.alpha_, self.a_, self.b_])

    def _odds_dropped(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(dropped) / P(alive) given the history (0 without repeat purchases)."""
        r, alpha, a, b = self.params_
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        return np.where(x > 0, odds, 0.0)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return 1.0 / (1.0 + self._odds_dropped(x, t_x, T))

    def p_no_purchase(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(no purchase in (T, T + t]): dropped, or alive and the posterior Poisson gives 0.
        (Dropping out happens only right after a purchase, so none happens in the window.)"""
        r, alpha, _, _ = self.params_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        alive = self.p_alive(x, t_x, T)
        return (1 - alive) + alive * ((alpha + T) / (alpha + T + t)) ** (r + x)

    def expected_purchases(
        self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[purchases in (T, T + t] | history] (equation 10 of the paper)."""
        r, alpha, a, b = self.params_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return head * body / (1 + self._odds_dropped(x, t_x, T))


def bgnbd_inputs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x repeat orders, t_x days from first to last order, T days since first order) at the
    cutoff, from point-in-time features: nothing after the cutoff enters."""
    tenure = frame["tenure_days"].to_numpy(dtype=float)
    x = frame["orders_total"].to_numpy(dtype=float) - 1
    t_x = tenure - frame["days_since_last_order"].to_numpy(dtype=float)
    return x, t_x, tenure


BGNBD_FEATURES = ("bgnbd_p_alive", "bgnbd_expected_orders", "bgnbd_p_no_order")


def bgnbd_columns(frame: pd.DataFrame, horizon_days: int, model: BGNBD) -> pd.DataFrame:
    """P(alive) and expected orders within the horizon per row, from a fitted BG/NBD: each
    row's values depend on that row and the four parameters only."""
    x, t_x, T = bgnbd_inputs(frame)
    return pd.DataFrame(
        {
            "bgnbd_p_alive": model.p_alive(x, t_x, T),
            "bgnbd_expected_orders": model.expected_purchases(horizon_days, x, t_x, T),
            "bgnbd_p_no_order": model.p_no_purchase(horizon_days, x, t_x, T),
        },
        index=frame.index,
    ).astype(float)


def fit_bgnbd_features(frame: pd.DataFrame, horizon_days: int) -> tuple[pd.DataFrame, BGNBD]:
    """Training: BG/NBD fitted on the histories at each cutoff (no labels: what production
    would have seen then), its two columns added. Returns the frame and the fit of the latest
    cutoff, which the scorer keeps frozen: scoring never refits, so a customer's score never
    depends on who else is in the batch."""
    parts, latest = [], None
    for _, rows in frame.groupby("cutoff_at", sort=True):
        latest = BGNBD(penalizer=0.001).fit(*bgnbd_inputs(rows))
        parts.append(bgnbd_columns(rows, horizon_days, latest))
    if latest is None:
        raise ValueError("no training rows to fit BG/NBD on")
    extra = pd.concat(parts).reindex(frame.index)
    return frame.assign(**{c: extra[c] for c in BGNBD_FEATURES}), latest
