"""Who a contact moves: a T-learner over LightGBM, trained on campaigns with random controls.

Two classifiers per bag, one on the contacted customers and one on the held-back ones, each
predicting P(order within the readout window) from the feature row at list time; a
customer's predicted uplift is the difference. Bags are bootstrap resamples of each group,
so the spread of their differences gives every customer an interval (5th to 95th
percentile, normal approximation over the bags). A T-learner is the simplest meta-learner
that is unbiased under the random control a list draws; with a control share of a tenth or
more each group has enough rows for trees of this size.

The difference of two noisy models spreads wider than the true effects (its extremes are
partly noise), so a third of the rows (by a hash of the customer id) is kept aside and the
raw difference is mapped linearly onto the transformed outcome there,
Z = y (t / p - (1 - t) / (1 - p)), whose mean given the features is the uplift: the map
shrinks the spread to what the held-aside rows support (slope clipped to [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.hashing import stable_units
from models.boosting import FeatureEncoder, predict, train_booster

Z90 = 1.644854
PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 4,
    "min_data_in_leaf": 150,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
}


@dataclass
class UpliftModel:
    """Bagged T-learner: `predict` gives each row's uplift in P(order) and its 90 % interval."""

    features: tuple[str, ...]
    bags: int = 5
    rounds: int = 60
    seed: int = 0
    encoder: FeatureEncoder | None = None
    boosters: list[tuple[lgb.Booster, lgb.Booster]] = field(default_factory=list)
    shrink: tuple[float, float] = (0.0, 1.0)  # intercept, slope of the map onto Z

    def fit(self, frame: pd.DataFrame, contacted: np.ndarray, ordered: np.ndarray) -> UpliftModel:
        """`contacted` True for the target group, `ordered` 1 for an order in the window;
        `frame` has a `customer_id` column (it chooses the rows kept aside)."""
        self.encoder = FeatureEncoder(self.features).fit(frame)
        x = self.encoder.transform(frame)
        y = np.asarray(ordered, dtype=float)
        t = np.asarray(contacted, dtype=bool)
        aside = stable_units(f"uplift:{c}" for c in frame["customer_id"].astype(str)) < 1 / 3
        self._fit_boosters(x[~aside], y[~aside], t[~aside])
        raw = self._raw(x[aside])
        share = t.mean()
        z = y[aside] * (t[aside] / share - (~t[aside]) / (1 - share))
        if raw.size > 2 and raw.std() > 0:
            slope = float(np.clip(np.cov(raw, z)[0, 1] / raw.var(ddof=1), 0.0, 1.0))
            self.shrink = (float(z.mean() - slope * raw.mean()), slope)
        return self

    def _fit_boosters(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> None:
        assert self.encoder is not None
        arms = [np.flatnonzero(t), np.flatnonzero(~t)]
        rng = np.random.default_rng(self.seed)
        self.boosters = []
        for _ in range(self.bags):
            pair = []
            for rows in arms:
                pick = rng.choice(rows, rows.size, replace=True)
                pair.append(train_booster(PARAMS, x[pick], y[pick], self.encoder, self.rounds))
            self.boosters.append((pair[0], pair[1]))

    def _bags(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([predict(t, x) - predict(c, x) for t, c in self.boosters])

    def _raw(self, x: np.ndarray) -> np.ndarray:
        return self._bags(x).mean(axis=1)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: `uplift` (mean over the bags), `uplift_low` and `uplift_high` (90 %)."""
        if self.encoder is None:
            raise ValueError("the uplift model is not fitted")
        x = self.encoder.transform(frame)
        per_bag = self._bags(x)
        intercept, slope = self.shrink
        mean = intercept + slope * per_bag.mean(axis=1)
        spread = slope * Z90 * per_bag.std(axis=1, ddof=1) if self.bags > 1 else np.zeros(len(x))
        return pd.DataFrame(
            {"uplift": mean, "uplift_low": mean - spread, "uplift_high": mean + spread},
            index=frame.index,
        )
