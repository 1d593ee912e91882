"""How well a predicted uplift ranks, judged on a campaign with a random control group.

Qini curve (Radcliffe): customers by predicted uplift, best first; after the first k,
Q(k) = orders among the contacted - orders among the held back x (contacted / held back),
the incremental orders a campaign on those k would have brought. The Qini coefficient is the
mean gap between that curve and the straight line of a random order, per customer of the
campaign (0: no better than random). AUUC is the mean of the uplift curve
(difference in order rate of the first k, times k) per customer. Both come with a bootstrap
interval; calibration compares, per predicted-uplift quintile, the observed target - control
difference with the predicted mean uplift and its interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z90 = 1.644854
POINTS = 100  # the curves are read at this many equally spaced cut-offs


def _cumulative(uplift: np.ndarray, contacted: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.lexsort((np.arange(len(uplift)), -np.asarray(uplift, dtype=float)))
    t = np.asarray(contacted, dtype=bool)[order]
    yy = np.asarray(y, dtype=float)[order]
    n = len(yy)
    at = np.unique(np.linspace(0, n, POINTS + 1).round().astype(int))[1:]
    nt, nc = np.cumsum(t)[at - 1], np.cumsum(~t)[at - 1]
    yt, yc = np.cumsum(yy * t)[at - 1], np.cumsum(yy * ~t)[at - 1]
    return at, nt, nc, yt, yc


def qini_curve(uplift: np.ndarray, contacted: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """share of customers (best first) -> incremental orders Q(k) per customer of the campaign."""
    at, nt, nc, yt, yc = _cumulative(uplift, contacted, y)
    n = float(at[-1]) if len(at) else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(nc > 0, yt - yc * nt / np.maximum(nc, 1), 0.0)
        gain = np.where(
            (nt > 0) & (nc > 0), (yt / np.maximum(nt, 1) - yc / np.maximum(nc, 1)) * at, 0.0
        )
    return pd.DataFrame({"share": at / n, "qini": q / n, "uplift_curve": gain / n})


def qini_coefficient(uplift: np.ndarray, contacted: np.ndarray, y: np.ndarray) -> float:
    curve = qini_curve(uplift, contacted, y)
    if curve.empty:
        return 0.0
    random_line = curve["share"] * curve["qini"].iloc[-1]
    return float((curve["qini"] - random_line).mean())


def auuc(uplift: np.ndarray, contacted: np.ndarray, y: np.ndarray) -> float:
    return float(qini_curve(uplift, contacted, y)["uplift_curve"].mean())


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def bootstrap(
    metric, uplift: np.ndarray, contacted: np.ndarray, y: np.ndarray,
    rounds: int = 200, seed: int = 0, level: float = 0.95,
) -> Interval:  # fmt: skip
    """The metric and its percentile interval over resamples of the customers."""
    rng = np.random.default_rng(seed)
    n = len(y)
    values = [
        metric(uplift[pick], contacted[pick], y[pick])
        for pick in (rng.integers(0, n, n) for _ in range(rounds))
    ]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(metric(uplift, contacted, y), float(low), float(high))


def calibration(
    per_bag: np.ndarray, contacted: np.ndarray, y: np.ndarray, bins: int = 5
) -> pd.DataFrame:
    """Per predicted-uplift bin (1 = highest), from each row's uplift by each bootstrap bag
    (rows x bags; the prediction is their mean): the predicted mean uplift and its 90 %
    interval, whether the observed target - control difference in order rate lies within it.
    The interval counts both uncertainties: the observed difference's sampling error
    (unpooled) and the predicted mean's bootstrap spread over the bags."""
    bags = np.atleast_2d(np.asarray(per_bag, dtype=float).T).T
    uplift = bags.mean(axis=1)
    t, yy = np.asarray(contacted, bool), np.asarray(y, float)
    ranks = pd.Series(uplift).rank(method="first", ascending=False).to_numpy()
    binned = np.ceil(ranks / max(len(uplift), 1) * bins).clip(1, bins).astype(int)
    rows = []
    for b in sorted(set(binned.tolist())):
        part = binned == b
        yt, yc = yy[part & t], yy[part & ~t]
        observed = float(yt.mean() - yc.mean()) if len(yt) and len(yc) else float("nan")
        se_observed = (
            float(np.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc)))
            if min(len(yt), len(yc)) > 1
            else float("nan")
        )
        by_bag = bags[part].mean(axis=0)
        se_predicted = float(by_bag.std(ddof=1)) if len(by_bag) > 1 else 0.0
        predicted = float(uplift[part].mean())
        half = Z90 * float(np.hypot(se_observed, se_predicted))
        rows.append({"bin": int(b), "contacted": len(yt), "held_back": len(yc),
                     "predicted_uplift": predicted, "observed_uplift": observed,
                     "se_observed": se_observed, "se_predicted": se_predicted,
                     "interval_low": predicted - half, "interval_high": predicted + half,
                     "within": bool(abs(observed - predicted) <= half)})  # fmt: skip
    return pd.DataFrame(rows)
