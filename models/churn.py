"""Calibrated churn probability: LightGBM plus isotonic calibration on a time-later fold."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression

from models.boosting import FeatureEncoder, train_booster


def split_latest_cutoff(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(earlier cutoffs, latest cutoff): the later fold tunes and calibrates, never trains."""
    latest = frame["cutoff_at"].max()
    later = frame["cutoff_at"] == latest
    return frame[~later], frame[later]


class ChurnModel(BaseEstimator):
    """P(no completed order within the horizon) from point-in-time features.

    `fit` takes a multi-cutoff frame with `cutoff_at` and `churned`. The boosted model
    learns on all cutoffs but the latest; the latest fold picks the number of trees and
    fits the isotonic map from raw score to probability, so that 0.3 means 30 %.
    """

    def __init__(
        self,
        features: tuple[str, ...],
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 100,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.random_state = random_state

    def _params(self) -> dict[str, object]:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": self.random_state,
        }

    def fit(self, frame: pd.DataFrame) -> ChurnModel:
        labelled = frame[frame["churned"].notna()]
        if labelled["cutoff_at"].nunique() < 2:
            raise ValueError("ChurnModel needs labelled examples at two or more cutoffs")
        train, later = split_latest_cutoff(labelled)
        self.encoder_ = FeatureEncoder(self.features).fit(train)
        x_later, y_later = self.encoder_.transform(later), later["churned"].to_numpy(dtype=float)
        self.booster_ = train_booster(
            self._params(),
            self.encoder_.transform(train),
            train["churned"].to_numpy(dtype=float),
            self.encoder_,
            self.n_estimators,
            valid=(x_later, y_later),
        )
        self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        self.calibrator_.fit(self.booster_.predict(x_later, raw_score=True), y_later)
        self.n_trees_ = self.booster_.num_trees()
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn) per row."""
        raw = self.booster_.predict(self.encoder_.transform(frame), raw_score=True)
        return np.asarray(self.calibrator_.predict(raw), dtype=float)

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """SHAP contributions (rows x features, bias column dropped), in raw-score units."""
        contrib = self.booster_.predict(self.encoder_.transform(frame), pred_contrib=True)
        return np.asarray(contrib)[:, :-1]

    @property
    def booster(self) -> lgb.Booster:
        return self.booster_
