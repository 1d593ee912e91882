"""When the next order comes, if it comes within the horizon: the timing curve's model.

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

from features.schema import DEFAULT_HORIZON_DAYS
from models.bgnbd import BGNBD
from models.boosting import FeatureEncoder, predict, train_booster
from models.churn import split_latest_cutoff
from models.timing import bgnbd_bin_probabilities, bin_edges, quantile_days

QUANTILES = {"next_order_p10_days": 0.1, "next_order_p50_days": 0.5, "next_order_p90_days": 0.9}


def observed_within(frame: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Rows whose next order was seen inside the horizon (their timing is exact)."""
    mask = frame["churned"].eq(0) & ~frame["next_order_censored"].astype(bool)
    return frame[mask.fillna(False) & (frame["days_to_next_order"] < horizon_days)]


class NextOrderModel(BaseEstimator):
    """The distribution of days to the next order given it comes within the horizon, as
    per-bin probabilities (models.timing): multi-class LightGBM over day bins, or BG/NBD's
    per-customer curve when fewer than `min_observed` next orders were seen in training."""

    def __init__(
        self,
        features: tuple[str, ...],
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        n_estimators: int = 300,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        min_observed: int = 1_500,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.horizon_days = horizon_days
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_observed = min_observed
        self.random_state = random_state

    def fit(self, frame: pd.DataFrame, encoder: FeatureEncoder | None = None) -> NextOrderModel:
        """`encoder`: a fitted encoder shared with the churn model (one transform per batch)."""
        self.edges_ = bin_edges(self.horizon_days)
        seen = observed_within(frame, self.horizon_days)
        self.encoder_ = encoder or FeatureEncoder(self.features).fit(frame)
        self.observed_ = len(seen)
        if len(seen) < self.min_observed or seen["cutoff_at"].nunique() < 2:
            self.method_, self.booster_ = "bgnbd", None
            return self
        train, later = split_latest_cutoff(seen)
        x, y = self.encoder_.transform(train), self._bin(train)
        valid = (self.encoder_.transform(later), self._bin(later))
        self.booster_ = train_booster(
            self._params(len(train)), x, y, self.encoder_, self.n_estimators, valid
        )
        self.method_ = "lightgbm"
        return self

    def _bin(self, frame: pd.DataFrame) -> np.ndarray:
        days = frame["days_to_next_order"].to_numpy(dtype=float)
        return np.clip(
            np.searchsorted(self.edges_, days, side="right") - 1, 0, len(self.edges_) - 2
        )

    def _params(self, rows: int) -> dict[str, object]:
        return {
            "objective": "multiclass",
            "num_class": len(self.edges_) - 1,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": int(np.clip(rows // 200, 20, 100)),
            "seed": self.random_state,
        }

    def bin_probabilities(
        self, x: np.ndarray, frame: pd.DataFrame, bgnbd: BGNBD | None
    ) -> np.ndarray:
        """Rows x bins: P(next order in each day bin | it comes within the horizon)."""
        if self.booster_ is not None:
            return predict(self.booster_, x).reshape(len(frame), -1)
        if bgnbd is None:
            raise ValueError("the BG/NBD timing curve needs the scorer's BG/NBD fit")
        return bgnbd_bin_probabilities(bgnbd, frame, self.edges_)

    def summary(self, probabilities: np.ndarray, index: pd.Index) -> pd.DataFrame:
        """expected_days_to_next_order (the median: it minimises the error in days) and the
        10-90 % interval, from the curve."""
        out = pd.DataFrame(
            {name: quantile_days(probabilities, self.edges_, q) for name, q in QUANTILES.items()},
            index=index,
        )
        out.insert(0, "expected_days_to_next_order", out["next_order_p50_days"])
        return out
