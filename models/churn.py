"""Calibrated churn probability: LightGBM, its complexity and calibration chosen on a
time-later fold."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from features.hashing import stable_unit
from features.schema import CATEGORY_FEATURES
from models.boosting import FeatureEncoder, predict, train_booster
from models.recent_rate import shift_churn


class Platt:
    """Logistic map from raw score to probability: monotone, keeps the ranking (no ties).
    Inputs: column 0 is the booster's raw score (a second column is ignored)."""

    columns = 1

    def fit(self, inputs: np.ndarray, y: np.ndarray) -> Platt:
        self.model_ = LogisticRegression(C=1e6).fit(inputs[:, : self.columns], y)
        return self

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        """The fitted logistic map computed directly (scikit-learn's checks cost a request
        more than the map; equal to its predict_proba to rounding). Column by column, not a
        matrix product: numpy's product of several rows rounds a row differently from the
        same row alone, and a customer's score must not depend on the batch it came in."""
        coef = self.model_.coef_.ravel()
        z = np.full(len(inputs), self.model_.intercept_[0])
        for j in range(self.columns):
            z = z + inputs[:, j] * coef[j]
        p = expit(z)
        return np.column_stack([1 - p, p])


class Stack(Platt):
    """Logistic mix of the booster's raw score and BG/NBD's log-odds of no order in the
    horizon (column 1), weighted on the time-later fold: where the trees do not carry
    beyond BG/NBD on the newest data, BG/NBD takes the weight, so the model cannot fall far
    behind its own baseline."""

    columns = 2


class Isotonic:
    """Isotonic map: no shape assumed, but steps create ties that cost a little ranking."""

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Isotonic:
        self.model_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
            raw[:, 0], y
        )
        return self

    def predict_proba(self, raw: np.ndarray) -> np.ndarray:
        p = np.asarray(self.model_.predict(raw[:, 0]), dtype=float)
        return np.column_stack([1 - p, p])


CALIBRATORS: dict[str, type[Platt] | type[Isotonic]] = {
    "platt": Platt,
    "isotonic": Isotonic,
    "stack": Stack,
}
ANCHOR = "bgnbd_p_no_order"  # the baseline the stack mixes in


def anchor_log_odds(p_no_order: np.ndarray) -> np.ndarray:
    p = np.clip(np.nan_to_num(np.asarray(p_no_order, dtype=float), nan=0.5), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def choose_calibration(
    inputs: np.ndarray, y: np.ndarray, customer_ids: np.ndarray
) -> tuple[str, dict[str, float]]:
    """The calibrator with the lowest Brier score on held-out customers of the calibration
    fold (two halves by a stable hash of the id, each fitted on the other)."""
    half = np.array([hash_half(c) for c in customer_ids])
    scores = {}
    for name, make in CALIBRATORS.items():
        if make is Stack and inputs.shape[1] < 2:
            continue
        predicted = np.empty(len(y))
        for side in (False, True):
            fit_on, score_on = half != side, half == side
            if fit_on.sum() == 0 or score_on.sum() == 0 or len(np.unique(y[fit_on])) < 2:
                predicted[score_on] = y.mean()
                continue
            model = make().fit(inputs[fit_on], y[fit_on])
            predicted[score_on] = model.predict_proba(inputs[score_on])[:, 1]
        scores[name] = float(np.mean((predicted - y) ** 2))
    return min(scores, key=lambda k: scores[k]), scores


def hash_half(customer_id: str) -> bool:
    """A stable coin per customer (features.hashing: not Python's salted hash)."""
    return stable_unit(customer_id) >= 0.5


# (num_leaves, min_child_samples), simplest first: the candidates `ChurnModel` chooses from
COMPLEXITY_GRID: tuple[tuple[int, int], ...] = ((7, 500), (15, 300), (31, 100))


MIN_PURGED_CUTOFFS = 3  # tuning on fewer purged cutoffs chose worse trees (short histories)


def log_loss_per_row(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def one_standard_error_choice(losses: list[np.ndarray]) -> int:
    """Index of the first (simplest) candidate whose mean held-out loss is within one
    standard error of the best one's (Breiman's one-SE rule). A gain smaller than the noise
    does not earn extra complexity; simpler trees also extrapolate more gently to customers
    older, or longer silent, than any seen in training."""
    means = [float(np.mean(loss)) for loss in losses]
    best = int(np.argmin(means))
    standard_error = float(np.std(losses[best]) / np.sqrt(len(losses[best])))
    return next(i for i, m in enumerate(means) if m <= means[best] + standard_error)


def paired_gain(loss_with: np.ndarray, loss_without: np.ndarray) -> tuple[float, float]:
    """Mean held-out loss saved per row by a feature family, and the standard error of that
    mean (the same rows scored twice: the paired difference is far less noisy than either)."""
    saved = loss_without - loss_with
    return float(np.mean(saved)), float(np.std(saved) / np.sqrt(len(saved)))


def split_latest_cutoff(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(earlier cutoffs, latest cutoff): the later fold tunes and calibrates, never trains."""
    latest = frame["cutoff_at"].max()
    later = frame["cutoff_at"] == latest
    return frame[~later], frame[later]


class ChurnModel(BaseEstimator):
    """P(no completed order within the horizon) from point-in-time features.

    `fit` takes a multi-cutoff frame with `cutoff_at` and `churned`. The boosted model
    learns on all cutoffs but the latest; the latest fold picks the number of trees (early
    stopping), the tree complexity among `complexity` (one-SE rule on its log loss), whether
    the `optional` features (the category family) earn their place, and fits the map from
    raw score to probability (Platt, isotonic or the BG/NBD stack, chosen by held-out Brier),
    so that 0.3 means 30 %. `level_shift_` then moves the log-odds of ordering when a newer,
    partly observed cutoff shows the base rate has moved (models.recent_rate).
    """

    level_shift_: float = 0.0  # set by Scorer.update_recent_rate; none on older pickles
    optional: tuple[str, ...] = ()  # older pickles: every feature always used
    optional_used_: bool | None = None
    optional_gain_: tuple[float, float] | None = None
    without_: tuple[str, ...] = ()
    purge_days: int = 0  # older pickles: tuned on every training cutoff

    def __init__(
        self,
        features: tuple[str, ...],
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        complexity: tuple[tuple[int, int], ...] = COMPLEXITY_GRID,
        random_state: int = 0,
        optional: tuple[str, ...] = CATEGORY_FEATURES,
        purge_days: int = 0,
    ) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.complexity = complexity
        self.random_state = random_state
        self.optional = optional
        self.purge_days = purge_days

    def _params(
        self, num_leaves: int, min_child_samples: int, without: tuple[str, ...] = ()
    ) -> dict[str, object]:
        """LightGBM's parameters; the features in `without` weigh zero in every split's gain
        (`feature_contri`), so the trees never use them and the matrix keeps its columns."""
        weights = {"feature_contri": [float(f not in without) for f in self.features]}
        return {
            **(weights if without else {}),
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": num_leaves,
            "min_child_samples": min_child_samples,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "seed": self.random_state,
        }

    def fit(self, frame: pd.DataFrame, encoder: FeatureEncoder | None = None) -> ChurnModel:
        """`encoder`: a fitted encoder shared with the next-order model (one transform per batch)."""
        labelled = frame[frame["churned"].notna()]
        if labelled["cutoff_at"].nunique() < 2:
            raise ValueError("ChurnModel needs labelled examples at two or more cutoffs")
        train, later = split_latest_cutoff(labelled)
        self.encoder_ = encoder or FeatureEncoder(self.features).fit(train)
        x_later, y_later = self.encoder_.transform(later), later["churned"].to_numpy(dtype=float)
        x_train, y_train = self.encoder_.transform(train), train["churned"].to_numpy(dtype=float)
        purged = self._purged(train["cutoff_at"], later["cutoff_at"].max())
        rows = np.ones(len(train), dtype=bool) if purged is None else purged
        tuned = self._tune(x_train[rows], y_train[rows], (x_later, y_later), purged is not None)
        self.purged_cutoffs_ = (
            0 if purged is None else int(train.loc[purged, "cutoff_at"].nunique())
        )
        self.booster_ = tuned if rows.all() else self._train(x_train, y_train, (x_later, y_later))
        inputs = self._calibration_inputs(x_later, later)
        self.calibration_, self.calibration_scores_ = choose_calibration(
            inputs, y_later, later["customer_id"].to_numpy(dtype=str)
        )
        self.calibrator_ = CALIBRATORS[self.calibration_]().fit(inputs, y_later)
        self.n_trees_ = self.booster_.num_trees()
        return self

    def _purged(self, train_cutoffs: pd.Series, later_cutoff: pd.Timestamp) -> np.ndarray | None:
        """Rows to tune on: the training cutoffs whose horizon ends by the later fold's
        cutoff (`purge_days` = the horizon). A cutoff closer than that shares part of its
        label window with the later fold, so the fold rewards trees that learned that very
        period: complex trees and extra features then win on it and lose a horizon ahead
        (a one-year line world: the later fold preferred 31 leaves by 0.011 log loss, the
        next horizon 7 leaves by 0.014 ROC-AUC). None when fewer than MIN_PURGED_CUTOFFS
        cutoffs are that old: one or two months' shocks would decide alone."""
        cutoffs = pd.to_datetime(train_cutoffs).to_numpy()
        purged = cutoffs <= np.datetime64(later_cutoff - pd.Timedelta(days=self.purge_days))
        return purged if len(np.unique(cutoffs[purged])) >= MIN_PURGED_CUTOFFS else None

    def _tune(
        self, x: np.ndarray, y: np.ndarray, later: tuple[np.ndarray, np.ndarray], judged: bool
    ) -> lgb.Booster:
        """Choose the complexity (one-SE rule) and whether the optional features earn their
        place: only on a purged fold (`judged`), where they must save more held-out log
        loss than one paired standard error; without one they are left out, as nothing
        honest says they help. Returns the chosen booster fitted on `x`; sets
        `complexity_`, `without_` and `optional_used_` (None: no optional feature here)."""
        present = self._present_optional(x)
        self.without_ = () if judged else present
        boosters = [self._booster(x, y, later, c, self.without_) for c in self.complexity]
        losses = [log_loss_per_row(later[1], predict(b, later[0])) for b in boosters]
        chosen = one_standard_error_choice(losses)
        self.complexity_ = self.complexity[chosen]
        self.optional_used_ = None if not present else judged
        if not (present and judged):
            return boosters[chosen]
        without = self._booster(x, y, later, self.complexity_, present)
        saved, error = paired_gain(
            losses[chosen], log_loss_per_row(later[1], predict(without, later[0]))
        )
        self.optional_gain_, self.optional_used_ = (saved, error), saved > error
        if self.optional_used_:
            return boosters[chosen]
        self.without_ = present
        return without

    def _present_optional(self, x: np.ndarray) -> tuple[str, ...]:
        """The optional features this model has and the rows fill (none without categories)."""
        present = tuple(f for f in self.optional if f in self.features)
        columns = [self.features.index(f) for f in present]
        return present if columns and not np.isnan(x[:, columns]).all() else ()

    def _train(
        self, x: np.ndarray, y: np.ndarray, later: tuple[np.ndarray, np.ndarray]
    ) -> lgb.Booster:
        """The chosen configuration refitted on every training cutoff."""
        return self._booster(x, y, later, self.complexity_, self.without_)

    def _booster(
        self,
        x: np.ndarray,
        y: np.ndarray,
        later: tuple[np.ndarray, np.ndarray],
        complexity: tuple[int, int],
        without: tuple[str, ...],
    ) -> lgb.Booster:
        """One booster, early-stopped on the later fold."""
        params = self._params(*complexity, without=without)
        return train_booster(params, x, y, self.encoder_, self.n_estimators, valid=later)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated P(churn) per row."""
        return self.predict_proba_encoded(self.encoder_.transform(frame), frame)

    def predict_proba_encoded(self, x: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """The same from the encoded features `x` of `frame` (which carries the anchor)."""
        inputs = self._calibration_inputs(x, frame)
        p = np.asarray(self.calibrator_.predict_proba(inputs)[:, 1], dtype=float)
        return shift_churn(p, self.level_shift_)

    def _calibration_inputs(self, x: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """The booster's raw score and, when the frame has it, BG/NBD's log-odds. The anchor
        is not a tree feature: in the trees it cost ranking on short histories (suite)."""
        raw = predict(self.booster_, x, raw_score=True).reshape(-1, 1)
        if ANCHOR not in frame:
            return raw
        return np.column_stack([raw, anchor_log_odds(frame[ANCHOR].to_numpy(dtype=float))])

    def contributions(self, frame: pd.DataFrame, x: np.ndarray | None = None) -> np.ndarray:
        """SHAP contributions (rows x features, bias column dropped), in raw-score units;
        `x`: the frame's encoded features when the caller has them already."""
        x = self.encoder_.transform(frame) if x is None else x
        contrib = predict(self.booster_, x, pred_contrib=True)
        return np.asarray(contrib)[:, :-1]

    @property
    def booster(self) -> lgb.Booster:
        return self.booster_
