"""What a CRM team already has: the recency rule, an RFM score, and BG/NBD.

Each baseline: `fit(train_frame)`, `predict_proba(frame)` (P(churn)), `predict_days(frame)`
(expected days to the next order, or None when it has no notion of timing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression

from features.schema import DEFAULT_HORIZON_DAYS
from models.bgnbd import BGNBD, bgnbd_inputs
from models.next_order import observed_within


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["churned"].notna()]


class RecencyBaseline(BaseEstimator):
    """Churn risk rises with days since the last order (isotonic, so it is calibrated too);
    the next order is expected one usual gap after the last one, or now when overdue."""

    def __init__(self, horizon_days: int = DEFAULT_HORIZON_DAYS) -> None:
        self.horizon_days = horizon_days

    def fit(self, frame: pd.DataFrame) -> RecencyBaseline:
        labelled = _labelled(frame)
        self.isotonic_ = IsotonicRegression(increasing=True, out_of_bounds="clip")
        self.isotonic_.fit(labelled["days_since_last_order"], labelled["churned"].astype(float))
        seen = observed_within(frame, self.horizon_days)
        self.median_days_to_next_order_ = float(np.median(seen["days_to_next_order"]))
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.isotonic_.predict(frame["days_since_last_order"]), dtype=float)

    def predict_days(self, frame: pd.DataFrame) -> np.ndarray:
        due = frame["mean_days_between_orders"] - frame["days_since_last_order"]
        return due.clip(lower=0).fillna(self.median_days_to_next_order_).to_numpy(dtype=float)


class RFMBaseline(BaseEstimator):
    """Classic RFM: quintile scores of recency (recent = 5), frequency and monetary value over
    the last 365 days, summed (3-15); the churn rate per score, learned isotonically."""

    def __init__(self, horizon_days: int = DEFAULT_HORIZON_DAYS) -> None:
        self.horizon_days = horizon_days

    def fit(self, frame: pd.DataFrame) -> RFMBaseline:
        labelled = _labelled(frame)
        self.edges_ = {
            col: np.unique(np.quantile(labelled[col], [0.2, 0.4, 0.6, 0.8]))
            for col in ("days_since_last_order", "orders_365d", "spend_365d")
            if labelled[col].notna().any()  # no amounts, no monetary score: R and F only
        }
        self.isotonic_ = IsotonicRegression(increasing=False, out_of_bounds="clip")
        self.isotonic_.fit(self.score(labelled), labelled["churned"].astype(float))
        return self

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        def quintile(col: str) -> np.ndarray:
            return 1 + np.searchsorted(
                self.edges_[col], frame[col].to_numpy(dtype=float), side="right"
            )

        monetary = quintile("spend_365d") if "spend_365d" in self.edges_ else 0
        return (6 - quintile("days_since_last_order")) + quintile("orders_365d") + monetary

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.isotonic_.predict(self.score(frame)), dtype=float)

    def predict_days(self, frame: pd.DataFrame) -> None:
        return None


class BGNBDBaseline(BaseEstimator):
    """BG/NBD fitted on the histories at the scored cutoff itself (it needs no labels, so it
    sees exactly what it would see in production); churn = P(no order within the horizon)."""

    def __init__(self, horizon_days: int = DEFAULT_HORIZON_DAYS) -> None:
        self.horizon_days = horizon_days

    def fit(self, frame: pd.DataFrame) -> BGNBDBaseline:
        return self  # fitted per scored frame, see _model

    def _model(self, frame: pd.DataFrame) -> BGNBD:
        return BGNBD(penalizer=0.001).fit(*bgnbd_inputs(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self._model(frame).p_no_purchase(self.horizon_days, *bgnbd_inputs(frame))

    def predict_days(self, frame: pd.DataFrame) -> np.ndarray:
        """Mean gap under the posterior order rate, (alpha + T) / (r + x - 1), within the horizon."""
        model = self._model(frame)
        x, _, T = bgnbd_inputs(frame)
        with np.errstate(divide="ignore"):
            days = (model.alpha_ + T) / np.maximum(model.r_ + x - 1, 1e-9)
        return np.clip(days, 0, self.horizon_days)
