"""When the next order comes, if it comes within the horizon (quantile LightGBM).

Censoring: the model learns only from cutoffs whose next order was *observed* inside
the horizon (the horizon ends before the data does, so that event is fully seen);
customers with no order yet are never given a made-up date. Its outputs are the
timing conditional on ordering within the horizon, whose probability is
1 - churn_probability; the scorer states both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from models.boosting import FeatureEncoder, train_booster
from models.churn import split_latest_cutoff

QUANTILES = {"next_order_p10_days": 0.1, "next_order_p50_days": 0.5, "next_order_p90_days": 0.9}


def observed_within(frame: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Rows whose next order was seen inside the horizon (their timing is exact)."""
    mask = frame["churned"].eq(0) & ~frame["next_order_censored"].astype(bool)
    return frame[mask.fillna(False) & (frame["days_to_next_order"] < horizon_days)]


class NextOrderModel(BaseEstimator):
    """Expected days to the next order and its 10-90 % interval, given an order in the horizon."""

    def __init__(
        self,
        features: tuple[str, ...],
        horizon_days: int = 90,
        n_estimators: int = 300,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.horizon_days = horizon_days
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def _params(self, objective: str, alpha: float | None = None) -> dict[str, object]:
        params: dict[str, object] = {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": 100,
            "seed": self.random_state,
        }
        if alpha is not None:
            params["alpha"] = alpha
        return params

    def fit(self, frame: pd.DataFrame, encoder: FeatureEncoder | None = None) -> NextOrderModel:
        """`encoder`: a fitted encoder shared with the churn model (one transform per batch)."""
        seen = observed_within(frame, self.horizon_days)
        train, later = split_latest_cutoff(seen)
        enc = self.encoder_ = encoder or FeatureEncoder(self.features).fit(train)
        x, y = enc.transform(train), train["days_to_next_order"].to_numpy(dtype=float)
        valid = (enc.transform(later), later["days_to_next_order"].to_numpy(dtype=float))
        rounds = self.n_estimators
        self.quantile_boosters_ = {
            name: train_booster(self._params("quantile", q), x, y, enc, rounds, valid)
            for name, q in QUANTILES.items()
        }
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Columns expected_days_to_next_order and the QUANTILES, ordered and in [0, horizon)."""
        return self.predict_encoded(self.encoder_.transform(frame), frame.index)

    def predict_encoded(self, x: np.ndarray, index: pd.Index) -> pd.DataFrame:
        """The same from an encoded matrix. The point estimate is the median: it is what
        minimises the absolute error in days, and it needs no fourth model."""
        quantiles = np.column_stack([b.predict(x) for b in self.quantile_boosters_.values()])
        quantiles = np.sort(np.clip(quantiles, 0.0, self.horizon_days), axis=1)
        out = pd.DataFrame(quantiles, columns=list(QUANTILES), index=index)
        out.insert(0, "expected_days_to_next_order", quantiles[:, 1])
        return out
