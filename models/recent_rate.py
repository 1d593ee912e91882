"""The newest base rate, from a horizon that has not ended yet (right-censored, never faked).

The calibration fold is the latest cutoff whose whole horizon is over, so it is at least one
horizon old: a shift since then (a service failure whose dropout keeps compounding, a price
rise) is not in it. A later cutoff r, observed for s < horizon days up to the data end, still
says something: who ordered within s days. The model predicts that too, from the one timing
curve: P(order within s) = (1 - churn_probability) x F(s).

The comparison is made twice, at r and at the calibration fold (whose first s days are known
too), and only the difference counts: a timing curve that is a little early or late, or a
season that makes the first weeks of every horizon slow, shows at both and cancels. When what
is left exceeds `MIN_Z` standard errors, the log-odds of ordering within the horizon move by
the one constant that makes r agree (a level shift: the ranking and the timing given an order
are kept). A gap inside the noise leaves the model alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

MIN_Z = 2.0  # a gap within two standard errors is noise, not a shift
MAX_SHIFT = 3.0  # log-odds: the root is searched within +-3 (a factor of about 20 in odds)


@dataclass(frozen=True)
class Window:
    """One cutoff's first `days` days: P(churn) and F(days) per customer, who ordered."""

    p_churn: np.ndarray
    order_share_by_days: np.ndarray
    ordered: np.ndarray

    def order_probability(self, shift: float) -> np.ndarray:
        """Per customer, P(order within the window) after moving the log-odds by `shift`."""
        return np.asarray((1 - shift_churn(self.p_churn, shift)) * self.order_share_by_days)

    def predicted(self, shift: float) -> float:
        """Orders expected within the window after moving the log-odds by `shift`."""
        return float(np.sum(self.order_probability(shift)))

    def variance(self, shift: float) -> float:
        q = self.order_probability(shift)
        return float(np.sum(q * (1 - q)))

    def matching_shift(self) -> float:
        """The shift whose expected orders equal the observed ones (bounded by MAX_SHIFT)."""
        observed = float(np.sum(self.ordered))
        low, high = self.predicted(-MAX_SHIFT) - observed, self.predicted(MAX_SHIFT) - observed
        if low >= 0 or high <= 0:
            return -MAX_SHIFT if low >= 0 else MAX_SHIFT
        return float(brentq(lambda d: self.predicted(d) - observed, -MAX_SHIFT, MAX_SHIFT))


@dataclass(frozen=True)
class RecentRate:
    """What the recent cutoff showed beyond the calibration fold, over `observed_days`."""

    observed_days: int
    customers: int
    observed_orders: int
    predicted_orders: float  # after the calibration fold's own gap
    z: float
    log_odds_shift: float  # added to the log-odds of ordering within the horizon (0: kept)

    @property
    def applied(self) -> bool:
        return self.log_odds_shift != 0.0


def shift_churn(p_churn: np.ndarray, log_odds_shift: float) -> np.ndarray:
    """Churn probabilities after moving the log-odds of ordering by `log_odds_shift`."""
    if log_odds_shift == 0.0:
        return p_churn
    p = np.clip(p_churn, 1e-12, 1 - 1e-12)
    return np.asarray(1 / (1 + (1 - p) / p * np.exp(log_odds_shift)))


def recent_rate(recent: Window, fold: Window, observed_days: int) -> RecentRate:
    """The level shift for `recent` beyond the one the calibration `fold` needs over the same
    number of days, applied only when the remaining gap is beyond noise."""
    baseline = fold.matching_shift()
    expected = recent.predicted(baseline)
    observed = int(np.sum(recent.ordered))
    scale = len(recent.ordered) / max(len(fold.ordered), 1)
    spread = np.sqrt(recent.variance(baseline) + fold.variance(baseline) * scale**2)
    z = (observed - expected) / spread if spread > 0 else 0.0
    shift = recent.matching_shift() - baseline if abs(z) > MIN_Z else 0.0
    return RecentRate(observed_days, len(recent.ordered), observed, expected, float(z), shift)
