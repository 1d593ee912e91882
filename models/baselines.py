"""The recency rule: what a CRM team already has without a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression

from models.next_order import observed_within


class RecencyBaseline(BaseEstimator):
    """Churn risk rises with days since the last order (isotonic, so it is calibrated too);
    the next order is expected one usual gap after the last one, or now when overdue."""

    def __init__(self, horizon_days: int = 90) -> None:
        self.horizon_days = horizon_days

    def fit(self, frame: pd.DataFrame) -> RecencyBaseline:
        labelled = frame[frame["churned"].notna()]
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
