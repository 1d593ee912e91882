"""The learned spend forecast: what a customer will spend over the horizon and 365 days,
net of refunds, with a 10-90 % interval (a zero-inflated lognormal with a learned hurdle).

Spend after a cutoff is zero for everyone who does not order, and long-tailed for the rest.
So it is modelled in two parts that share retain's features and cutoffs:
- whether the customer orders within the horizon: 1 - churn_probability, the calibrated
  churn model's own number (the hurdle);
- how much, given an order: log(1 + net spend) is normal around a LightGBM regression's
  mean (the features and the cutoff's day of the year), with one spread; the mean in money
  is then scaled so that, over every training cutoff, it sums to what the buyers spent.
  Every cutoff, not the later fold alone: spend per buyer is seasonal, and one fold would
  import its season's level (generated world: June's buyers spend 10 % less than
  September's; an isotonic map on the June fold left the September forecast 13 % short, worst
  decile 16 %; with the season and this scale, 1 % and 5.5 %).
The interval is the mixture's 10 % and 90 % quantiles, its spread set on the same later fold
so that 80 % of customers fall inside (split conformal). The 365-day value extends the
horizon's by BG/NBD's per-customer order curve (expected orders in 365 days over those in the
horizon): the learned part needs labels a horizon long, which every training cutoff has, where
365-day labels exist only on long histories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sklearn.base import BaseEstimator

from features.schema import DEFAULT_HORIZON_DAYS
from models.bgnbd import BGNBD, bgnbd_inputs
from models.boosting import FeatureEncoder, predict, train_booster
from models.churn import split_latest_cutoff

LOW, HIGH = 0.1, 0.9  # the interval's quantiles: 80 % of customers inside
CLV_DAYS = 365
MIN_BUYERS = 200  # fewer customers who ordered in training: no learned forecast
SEASON = ("season_sin", "season_cos")  # the cutoff's day of the year, on a circle


def season(frame: pd.DataFrame, as_of: pd.Timestamp | None = None) -> dict[str, np.ndarray]:
    """The day of the year of each row's cutoff (or of `as_of`) as two columns: spend per
    buyer is seasonal, and every training window of a year holds each season once."""
    if as_of is None:
        day = pd.to_datetime(frame["cutoff_at"]).dt.dayofyear.to_numpy(dtype=float)
    else:
        day = np.full(len(frame), float(pd.Timestamp(as_of).dayofyear))
    angle = 2 * np.pi * day / 365.25
    return dict(zip(SEASON, (np.sin(angle), np.cos(angle)), strict=True))


def with_season(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its `season` columns (training: every row's own cutoff)."""
    return frame.assign(**season(frame))


SPEND_COLUMNS = (
    "expected_value",  # spend over the horizon if the customer orders (value at risk's base)
    "predicted_spend_horizon",  # unconditional: (1 - churn) x expected_value
    "predicted_clv_365d",
    "predicted_clv_365d_p10",
    "predicted_clv_365d_p90",
)


def mixture_quantile(
    q: float, p_zero: np.ndarray, mu: np.ndarray, sigma: float, scale: np.ndarray
) -> np.ndarray:
    """The q-quantile of spend that is 0 with probability p_zero and else exp(N(mu, sigma)) - 1
    (times the calibration `scale`): 0 when q <= p_zero."""
    p = np.clip(p_zero, 0.0, 1 - 1e-9)
    level = np.clip((q - p) / (1 - p), 1e-9, 1 - 1e-9)
    spend = np.expm1(mu + sigma * ndtri(level)).clip(min=0) * scale
    return np.where(q <= p, 0.0, spend)


def coverage(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    return float(np.mean((y >= low - 1e-9) & (y <= high + 1e-9)))


class SpendForecast(BaseEstimator):
    """Fit on a labelled multi-cutoff frame (`spend_next_horizon`, `churned`) and the churn
    probabilities of its latest cutoff (the later fold calibrates, it never trains)."""

    def __init__(
        self,
        features: tuple[str, ...],
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        n_estimators: int = 200,
        learning_rate: float = 0.08,
        num_leaves: int = 15,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.horizon_days = horizon_days
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.random_state = random_state

    def fit(
        self, frame: pd.DataFrame, later_p_churn: np.ndarray, encoder: FeatureEncoder | None = None
    ) -> SpendForecast:
        labelled = frame[frame["spend_next_horizon"].notna() & frame["churned"].notna()]
        train, later = split_latest_cutoff(labelled)
        bought, later_bought = (f[f["churned"].eq(0)] for f in (train, later))
        if len(bought) < MIN_BUYERS or len(later_bought) < MIN_BUYERS // 4:
            raise ValueError(f"a learned spend forecast needs {MIN_BUYERS} buyers in training")
        self.encoder_ = FeatureEncoder((*self.features, *SEASON))
        self.encoder_.vocabulary_ = (
            encoder or FeatureEncoder(self.features).fit(train)
        ).vocabulary_
        bought, later_bought, later = (with_season(f) for f in (bought, later_bought, later))
        log_spend = np.log1p(bought["spend_next_horizon"].to_numpy(dtype=float))
        valid = (
            self.encoder_.transform(later_bought),
            np.log1p(later_bought["spend_next_horizon"].to_numpy(dtype=float)),
        )
        params = {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": int(np.clip(len(bought) // 200, 20, 100)),
            "seed": self.random_state,
        }
        x = self.encoder_.transform(bought)
        self.booster_ = train_booster(params, x, log_spend, self.encoder_, self.n_estimators, valid)
        mu = predict(self.booster_, x)
        self.sigma_ = float(np.std(log_spend - mu))
        self.level_ = 1.0
        both = pd.concat([bought, later_bought])
        mean = self._mean(predict(self.booster_, self.encoder_.transform(both)))
        self.level_ = float(both["spend_next_horizon"].sum() / max(mean.sum(), 1e-12))
        self._calibrate(later, np.asarray(later_p_churn, dtype=float))
        return self

    def _mean(self, mu: np.ndarray) -> np.ndarray:
        """E[spend | an order] in money: the lognormal mean of 1 + spend, less 1, scaled."""
        return np.asarray(np.expm1(mu + self.sigma_**2 / 2).clip(min=0) * self.level_)

    def _calibrate(self, later: pd.DataFrame, p_churn: np.ndarray) -> None:
        """On the later fold: the spread that puts 80 % of all customers inside the interval."""
        mu = predict(self.booster_, self.encoder_.transform(later))
        y = later["spend_next_horizon"].to_numpy(dtype=float)
        scale = np.full(len(mu), self.level_)
        spreads = self.sigma_ * np.linspace(0.2, 3.0, 57)
        hits = [
            coverage(
                y,
                mixture_quantile(LOW, p_churn, mu, s, scale),
                mixture_quantile(HIGH, p_churn, mu, s, scale),
            )
            for s in spreads
        ]
        self.interval_sigma_ = float(spreads[int(np.argmin(np.abs(np.array(hits) - 0.8)))])
        self.later_coverage_ = float(min(hits, key=lambda h: abs(h - 0.8)))

    def predict_frame(
        self,
        frame: pd.DataFrame,
        p_churn: np.ndarray,
        bgnbd: BGNBD | None,
        as_of: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """SPEND_COLUMNS per row of `frame` at `as_of` (else its `cutoff_at`) given its churn
        probabilities."""
        mu = predict(self.booster_, self.encoder_.transform(frame, season(frame, as_of)))
        scale = np.full(len(mu), self.level_)
        conditional = self._mean(mu)
        low = mixture_quantile(LOW, p_churn, mu, self.interval_sigma_, scale)
        high = mixture_quantile(HIGH, p_churn, mu, self.interval_sigma_, scale)
        horizon = (1 - p_churn) * conditional
        ratio = year_ratio(frame, self.horizon_days, bgnbd)
        return pd.DataFrame(
            {
                "expected_value": conditional,
                "predicted_spend_horizon": horizon,
                "predicted_spend_horizon_p10": low,
                "predicted_spend_horizon_p90": high,
                "predicted_clv_365d": horizon * ratio,
                "predicted_clv_365d_p10": low * ratio,
                "predicted_clv_365d_p90": high * ratio,
            },
            index=frame.index,
        )


def year_ratio(frame: pd.DataFrame, horizon_days: int, bgnbd: BGNBD | None) -> np.ndarray:
    """Per customer, BG/NBD's expected orders in 365 days over those in the horizon (at
    least 1 when the horizon is shorter): how a horizon's value extends to a year, with the
    customer's own chance of dropping out on the way. 365 / horizon without a BG/NBD fit."""
    if horizon_days >= CLV_DAYS or bgnbd is None:
        return np.full(len(frame), CLV_DAYS / horizon_days)
    x, t_x, T = bgnbd_inputs(frame)
    year = bgnbd.expected_purchases(CLV_DAYS, x, t_x, T)
    horizon = bgnbd.expected_purchases(horizon_days, x, t_x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(horizon > 1e-9, year / horizon, CLV_DAYS / horizon_days)
    return np.nan_to_num(ratio, nan=CLV_DAYS / horizon_days).clip(min=1.0)
