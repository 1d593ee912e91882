"""When a customer buys a category again: one timing curve per (customer, category) pair.

P(buys c within t days), t up to the horizon, from ONE multi-class LightGBM across all
categories (the category is a feature, so a category with few buyers borrows from the
others): the classes are the day bins of models.timing and "not within the horizon". It
learns only from pairs whose outcome is known (a next purchase seen inside the horizon, or
the whole horizon observed without one): a pair whose horizon runs past the data and has no
purchase yet is right-censored and never given a made-up date. Beside it, two baselines
give the same curve shape from one number: the customer's own median gap in the category
(the naive cycle) and the category's population median gap (a replenishment flow), each a
log-normal gap around that number, its spread fitted on the training pairs, conditioned on
the time already waited.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator

from features.schema import DEFAULT_HORIZON_DAYS
from models.boosting import predict
from models.churn import split_latest_cutoff
from models.timing import bin_edges, cdf_at, quantile_days

PAIR_FEATURES = (
    "purchases_total",
    "spend_per_purchase",
    "spend_share",
    "days_since_purchase",
    "purchases_90d",
    "median_gap_days",
    "std_gap_days",
    "last_gap_days",
    "overdue_ratio",
    "first_purchase_days",
    "category_rank",
    "customer_orders_total",
    "customer_days_since_order",
    "customer_tenure_days",
    "share_of_orders",
)
INTERVAL = (0.1, 0.9)  # the 80 % interval of the next purchase, given it comes in the horizon


def outcome_known(frame: pd.DataFrame, data_end: pd.Timestamp, horizon_days: int) -> pd.Series:
    """Pairs whose outcome within the horizon is known: the next purchase seen inside it, or
    the horizon over before the data ends (else right-censored)."""
    seen = frame["days_to_next_purchase"] < horizon_days
    over = frame["cutoff_at"] + pd.Timedelta(days=horizon_days) <= data_end
    return seen.fillna(False) | over


class CategoryTimingModel(BaseEstimator):
    """P(next purchase of the category in each day bin, or not within the horizon) per pair."""

    def __init__(
        self,
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        n_estimators: int = 300,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        random_state: int = 0,
    ) -> None:
        self.horizon_days = horizon_days
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def fit(self, frame: pd.DataFrame, data_end: pd.Timestamp) -> CategoryTimingModel:
        """`frame`: pairs at several cutoffs with `days_to_next_purchase` (NaN: none seen)."""
        self.edges_ = bin_edges(self.horizon_days)
        known = frame[outcome_known(frame, data_end, self.horizon_days)]
        self.categories_ = sorted(known["category"].astype(str).unique())
        self.trained_rows_ = len(known)
        train, later = split_latest_cutoff(known)
        if train.empty:  # one cutoff: no later fold to stop on
            train, later = known, known.iloc[:0]
        params = {
            "objective": "multiclass",
            "num_class": len(self.edges_),  # the bins and "not within the horizon"
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": int(np.clip(len(train) // 200, 20, 100)),
            "seed": self.random_state,
            "verbosity": -1,
            "num_threads": 1,  # many small trees: threads cost more than they save
            "deterministic": True,
            "force_col_wise": True,
        }
        names = [*PAIR_FEATURES, "category"]
        data = lgb.Dataset(
            self._x(train), self._y(train), feature_name=names, categorical_feature=["category"]
        )
        kwargs: dict[str, object] = {}
        if len(later):
            kwargs["valid_sets"] = [lgb.Dataset(self._x(later), self._y(later), reference=data)]
            kwargs["callbacks"] = [lgb.early_stopping(30, verbose=False)]
        self.booster_ = lgb.train(params, data, num_boost_round=self.n_estimators, **kwargs)  # type: ignore[arg-type]
        return self

    def _x(self, frame: pd.DataFrame) -> np.ndarray:
        codes = pd.Categorical(frame["category"].astype(str), categories=self.categories_).codes
        x = frame[list(PAIR_FEATURES)].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.column_stack([x, np.where(codes < 0, np.nan, codes)])

    def _y(self, frame: pd.DataFrame) -> np.ndarray:
        days = frame["days_to_next_purchase"].to_numpy(dtype=float)
        bins = np.clip(
            np.searchsorted(self.edges_, days, side="right") - 1, 0, len(self.edges_) - 2
        )
        return np.where(days < self.horizon_days, bins, len(self.edges_) - 1)

    def bin_probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows x bins: P(next purchase in each day bin); the rest is 'not within horizon'."""
        probabilities = predict(self.booster_, self._x(frame)).reshape(len(frame), -1)
        return probabilities[:, :-1]

    def curve(
        self, frame: pd.DataFrame, days: tuple[float, ...], bins: np.ndarray | None = None
    ) -> np.ndarray:
        """Rows x days: P(buys the category within each number of days); `bins`: the
        frame's bin_probabilities when the caller has them (one prediction, not three)."""
        bins = self.bin_probabilities(frame) if bins is None else bins
        return np.column_stack([cdf_at(bins, self.edges_, d) for d in days])

    def summary(
        self, frame: pd.DataFrame, within_days: float = 30, bins: np.ndarray | None = None
    ) -> pd.DataFrame:
        """Per pair: P(within `within_days`), expected days (median given a purchase in the
        horizon) and the 80 % interval; `bins` as in `curve`."""
        bins = self.bin_probabilities(frame) if bins is None else bins
        low, high = (quantile_days(bins, self.edges_, q) for q in INTERVAL)
        return pd.DataFrame(
            {
                "probability": cdf_at(bins, self.edges_, within_days),
                "expected_days": quantile_days(bins, self.edges_, 0.5),
                "interval_low_days": low,
                "interval_high_days": high,
            },
            index=frame.index,
        )


class CycleBaseline(BaseEstimator):
    """A log-normal gap between purchases around the customer's own median gap in the
    category (`center="own"`) or the category's population median gap (`"population"`),
    conditioned on the days already waited; the spread is fitted on training pairs."""

    def __init__(self, center: str = "own", horizon_days: int = DEFAULT_HORIZON_DAYS) -> None:
        self.center = center
        self.horizon_days = horizon_days

    def fit(self, frame: pd.DataFrame) -> CycleBaseline:
        seen = frame[frame["days_to_next_purchase"] < self.horizon_days]
        gap = seen["days_since_purchase"] + seen["days_to_next_purchase"]
        by_category = gap.groupby(seen["category"].astype(str)).median()
        self.population_median_ = by_category.to_dict()
        self.overall_median_ = float(gap.median()) if len(gap) else 30.0
        ratio = np.log(np.clip(gap / self._centers(seen), 1e-3, None))
        self.sigma_ = float(max(ratio.std(), 0.1)) if len(ratio) > 1 else 0.5
        return self

    def _centers(self, frame: pd.DataFrame) -> np.ndarray:
        population = (
            frame["category"].astype(str).map(self.population_median_).astype(float)
        ).fillna(self.overall_median_)
        if self.center == "population":
            return population.to_numpy()
        return frame["median_gap_days"].fillna(population).clip(lower=1).to_numpy()

    def _cdf(self, frame: pd.DataFrame, total_days: np.ndarray) -> np.ndarray:
        z = (np.log(np.clip(total_days, 1e-6, None)) - np.log(self._centers(frame))) / self.sigma_
        return np.asarray(norm.cdf(z))

    def probability(self, frame: pd.DataFrame, within_days: float) -> np.ndarray:
        """P(T <= waited + t | T > waited)."""
        waited = frame["days_since_purchase"].to_numpy(dtype=float)
        before = self._cdf(frame, waited)
        after = self._cdf(frame, waited + within_days)
        return np.asarray(np.clip((after - before) / np.clip(1 - before, 1e-9, None), 0, 1))

    def summary(self, frame: pd.DataFrame, within_days: float = 30) -> pd.DataFrame:
        """As CategoryTimingModel.summary (quantiles given a purchase within the horizon)."""
        waited = frame["days_since_purchase"].to_numpy(dtype=float)
        start = self._cdf(frame, waited)
        end = self._cdf(frame, waited + self.horizon_days)

        def days_at(q: float) -> np.ndarray:
            p = np.clip(start + q * (end - start), 1e-12, 1 - 1e-12)
            total = np.exp(np.log(self._centers(frame)) + self.sigma_ * norm.ppf(p))
            return np.asarray(np.clip(total - waited, 0, self.horizon_days))

        return pd.DataFrame(
            {
                "probability": self.probability(frame, within_days),
                "expected_days": days_at(0.5),
                "interval_low_days": days_at(INTERVAL[0]),
                "interval_high_days": days_at(INTERVAL[1]),
            },
            index=frame.index,
        )
