"""Everything a score needs, in one picklable object: both models, tiers, reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.bgnbd import BGNBD, BGNBD_FEATURES, bgnbd_columns
from models.churn import ChurnModel
from models.explain import REASON_TEMPLATES, directions_cell, join_reasons, top_reasons
from models.next_order import NextOrderModel
from models.recent_rate import RecentRate, Window, recent_rate
from models.spend import SpendForecast, year_ratio
from models.timing import PROBABILITY_DAYS, cdf_at

SCORE_COLUMNS = (
    "customer_id",
    "as_of",
    "churn_probability",
    "risk_tier",
    "expected_days_to_next_order",
    "next_order_p10_days",
    "next_order_p90_days",
    "next_order_date",
    *(f"order_probability_{d}d" for d in PROBABILITY_DAYS),
    "next_categories",
    "value_tier",
    "expected_value",
    "value_at_risk",
    "predicted_clv_365d",
    "predicted_clv_365d_p10",
    "predicted_clv_365d_p90",
    "reasons",
    "reason_directions",
    "model_version",
    "scored_at",
)


# The top categories by P(buys within 30 days), a JSON list of {category, probability_30d,
# expected_days}: filled by batch scoring from the category curves (pipelines.scoring.
# categories); the churn scorer alone knows no categories (a posted history holds orders)
NO_CATEGORIES = "[]"
RecentCutoff = tuple[pd.DataFrame, np.ndarray]  # features at a cutoff, ordered within s days
RISK_TIERS = ("high", "medium", "low")  # highest first
VALUE_METHODS = ("spend_rate", "bgnbd_orders_x_order_value")
EXPECTED_ORDERS = "expected_orders"  # the value of a source without amounts: orders, not money
FORECAST = "spend_forecast"  # the learned forecast (models.spend)
VALUE_METHOD_TEXT = {
    FORECAST: "learned spend forecast: P(order) from the churn model x LightGBM on log spend "
    "of buyers, isotonic on the later fold, 10-90 % interval; 365 days by BG/NBD's order curve",
    "spend_rate": "12-month spend rate (too few buyers for a learned forecast)",
    "bgnbd_orders_x_order_value": "BG/NBD orders x net order value (too few buyers for a "
    "learned forecast)",
    EXPECTED_ORDERS: "expected orders: the source has no amounts, so value counts orders, not money",
}
VALUE_BASES = {"trailing": "net_spend_365d", "predicted": "predicted_clv_365d"}


def spend_known(frame: pd.DataFrame) -> bool:
    """Whether the source had amounts (spend features are absent, all NULL, without them)."""
    return bool(frame["spend_365d"].notna().any())


def value_basis(frame: pd.DataFrame) -> str:
    """What the value pyramid ranks: 12-month spend net of refunds, or 12-month orders
    without amounts."""
    return "net_spend_365d" if spend_known(frame) else "orders_365d"


def expected_value(frame: pd.DataFrame, method: str, horizon_days: int) -> np.ndarray:
    """Spend expected over the horizon if the customer stays, net of refunds: the last 12
    months' net rate, or BG/NBD's expected orders times the customer's net order value (a
    customer credited everything they bought is worth nothing)."""
    if method == EXPECTED_ORDERS:
        return frame["bgnbd_expected_orders"].to_numpy(dtype=float)
    if method == "spend_rate":
        return frame["net_spend_365d"].to_numpy(dtype=float) * horizon_days / 365.0
    orders = frame["bgnbd_expected_orders"].to_numpy(dtype=float)
    return np.nan_to_num(orders * frame["net_avg_order_value"].to_numpy(dtype=float))


def choose_value_method(frame: pd.DataFrame, horizon_days: int) -> tuple[str, dict[str, float]]:
    """The method with the lowest mean absolute error against the spend that followed
    (`spend_next_horizon`), on the customers who kept buying; without amounts, BG/NBD's
    expected orders (value at risk then counts orders)."""
    if not spend_known(frame):
        return EXPECTED_ORDERS, {}
    stayed = frame[frame["churned"].eq(0).fillna(False) & frame["spend_next_horizon"].notna()]
    errors = {
        m: float(
            np.mean(np.abs(expected_value(stayed, m, horizon_days) - stayed["spend_next_horizon"]))
        )
        for m in VALUE_METHODS
    }
    return min(errors, key=lambda m: errors[m]), errors


def value_tier_thresholds(basis: pd.Series, tiers: dict[str, float]) -> dict[str, float]:
    """Lowest trailing-12-month value (see value_basis) of each pyramid tier, best first.
    `tiers` maps a name to the cumulative share of customers up to it (platinum 0.01, gold
    0.05, ..., the last 1.0), so the last tier takes everyone else (threshold minus infinity)."""
    return {
        name: float(basis.quantile(1 - share)) if share < 1 else float("-inf")
        for name, share in tiers.items()
    }


def risk_tiers(probability: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """high at or above the first threshold, medium at or above the second, else low."""
    high, medium = thresholds
    return np.select(
        [probability >= high, probability >= medium], list(RISK_TIERS[:2]), RISK_TIERS[2]
    )


@dataclass
class Scorer:
    """A fitted, consistent scorer: one MLflow model version wraps exactly one of these."""

    churn: ChurnModel
    next_order: NextOrderModel
    horizon_days: int
    high_risk_threshold: float
    medium_risk_threshold: float
    tier_thresholds: dict[str, float]
    settings_hash: str
    bgnbd: BGNBD | None = None  # BG/NBD of the latest training cutoff, frozen for scoring
    value_method: str = "spend_rate"  # chosen on the time-later fold, see choose_value_method
    value_basis: str = "net_spend_365d"  # what the value tiers rank (orders_365d without amounts)
    spend: SpendForecast | None = None  # the learned spend forecast; None: value_method's heuristic
    training_cutoffs: tuple[pd.Timestamp, ...] = ()  # the seasons it has seen
    recent_rate: RecentRate | None = None  # the partly observed cutoff after the fold, if any
    reason_templates: dict[str, tuple[str, str]] = field(
        default_factory=lambda: dict(REASON_TEMPLATES)
    )

    @property
    def features(self) -> list[str]:
        return list(self.churn.features)

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time features + the BG/NBD features the models expect, from the BG/NBD
        parameters frozen at training: a row's values depend on that row alone."""
        if set(BGNBD_FEATURES) <= set(features.columns):
            return features  # already prepared (batch scoring prepares the whole population once)
        if self.bgnbd is None:
            raise ValueError("this scorer has no frozen BG/NBD fit; retrain it")
        frame = features.reset_index(drop=True)
        return frame.assign(**bgnbd_columns(frame, self.horizon_days, self.bgnbd))

    def score(
        self,
        features: pd.DataFrame,
        as_of: pd.Timestamp,
        scored_at: pd.Timestamp,
        model_version: str,
        with_reasons: bool = True,
        risk_thresholds: tuple[float, float] | None = None,
        encoded: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Scores table (docs/ARCHITECTURE.md, what comes out) for rows of point-in-time features at `as_of`.
        Risk tiers are a presentation of the calibrated probability: `risk_thresholds`
        (high, medium) are today's settings; without them, those in force at training.
        `encoded`: the prepared frame's `encode`, when the caller has it."""
        frame = self.prepare(features)
        x = self.encode(frame) if encoded is None else encoded
        p = self.churn.predict_proba_encoded(x, frame)
        curve = self.curve(frame, x)
        timing = self.next_order.summary(curve, frame.index)
        value = self.value_columns(frame, p, as_of)
        days = timing["expected_days_to_next_order"].to_numpy()
        day = np.datetime64(pd.Timestamp(as_of).normalize(), "D")
        reasons = self.reasons(frame, x) if with_reasons else [""] * len(frame)
        out = pd.DataFrame(
            {
                "customer_id": frame["customer_id"].astype(str).to_numpy(),
                "as_of": as_of,
                "churn_probability": p,
                "risk_tier": risk_tiers(
                    p, risk_thresholds or (self.high_risk_threshold, self.medium_risk_threshold)
                ),
                "expected_days_to_next_order": days,
                "next_order_p10_days": timing["next_order_p10_days"].to_numpy(),
                "next_order_p90_days": timing["next_order_p90_days"].to_numpy(),
                "next_order_date": (day + np.round(days).astype("timedelta64[D]")).astype(
                    "datetime64[ns]"
                ),
                **{
                    f"order_probability_{d}d": (1 - p) * cdf_at(curve, self.next_order.edges_, d)
                    for d in PROBABILITY_DAYS
                },
                "next_categories": NO_CATEGORIES,
                "value_tier": self.value_tiers(self._tier_basis(frame, value)),
                "expected_value": value["expected_value"].to_numpy(),
                "value_at_risk": p * value["expected_value"].to_numpy(),
                **{c: value[c].to_numpy() for c in SCORE_COLUMNS if c.startswith("predicted_clv")},
                "reasons": reasons,
                "reason_directions": [directions_cell(r) for r in reasons],
                "model_version": model_version,
                "scored_at": scored_at,
            }
        )
        return out[list(SCORE_COLUMNS)]

    def value_columns(
        self, frame: pd.DataFrame, p: np.ndarray, as_of: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """expected_value (if the customer orders within the horizon) and the 365-day value
        with its interval: from the learned forecast, or, without one, from `value_method`'s
        heuristic (no interval then; orders, not money, without amounts)."""
        if self.spend is not None:
            return self.spend.predict_frame(frame, p, self.bgnbd, as_of)
        value = expected_value(frame, self.value_method, self.horizon_days)
        ordering = 1.0 if self.value_method == EXPECTED_ORDERS else 1 - p  # BG/NBD's has churn
        year = ordering * value * year_ratio(frame, self.horizon_days, self.bgnbd)
        empty = np.full(len(frame), np.nan)
        return pd.DataFrame(
            {
                "expected_value": value,
                "predicted_spend_horizon": ordering * value,
                "predicted_clv_365d": year,
                "predicted_clv_365d_p10": empty,
                "predicted_clv_365d_p90": empty,
            },
            index=frame.index,
        )

    def _tier_basis(self, frame: pd.DataFrame, value: pd.DataFrame) -> pd.Series:
        """What the value tiers rank: trailing 12-month value, or the predicted 365-day one."""
        if self.value_basis == VALUE_BASES["predicted"]:
            return value["predicted_clv_365d"]
        return frame[self.value_basis]

    def curve(self, frame: pd.DataFrame, x: np.ndarray | None = None) -> np.ndarray:
        """Per-bin probabilities of the next order's time given it comes within the horizon
        (models.timing); with the churn probability p, P(order within t) = (1 - p) F(t)."""
        if x is None or self.next_order.encoder_ is not self.churn.encoder_:
            x = self.next_order.encoder_.transform(frame)
        return self.next_order.bin_probabilities(x, frame, self.bgnbd)

    def update_recent_rate(
        self, recent: RecentCutoff, fold: RecentCutoff, observed_days: int
    ) -> None:
        """Compare who ordered within `observed_days` of a cutoff newer than the calibration
        fold, and of the fold itself, with what the curve predicts, and move the churn model's
        level when the newer gap is beyond the fold's and beyond noise (models.recent_rate).
        Each argument: (features, whether each customer ordered within the days)."""
        self.churn.level_shift_ = 0.0
        self.recent_rate = recent_rate(
            self._window(*recent, observed_days), self._window(*fold, observed_days), observed_days
        )
        self.churn.level_shift_ = self.recent_rate.log_odds_shift

    def _window(self, features: pd.DataFrame, ordered: np.ndarray, days: int) -> Window:
        frame = self.prepare(features)
        x = self.churn.encoder_.transform(frame)
        share = cdf_at(self.curve(frame, x), self.next_order.edges_, days)
        return Window(self.churn.predict_proba_encoded(x, frame), share, ordered)

    def value_tiers(self, basis: pd.Series) -> np.ndarray:
        """Customer-pyramid tier: the first (best) tier whose threshold the value reaches."""
        spend = basis.to_numpy(dtype=float)
        names = list(self.tier_thresholds)
        conditions = [spend >= self.tier_thresholds[name] for name in names[:-1]]
        return np.select(conditions, names[:-1], names[-1])

    def encode(self, prepared: pd.DataFrame) -> np.ndarray:
        """The churn model's encoded features of a prepared frame (`prepare`)."""
        return self.churn.encoder_.transform(prepared)

    def reasons(self, frame: pd.DataFrame, encoded: np.ndarray | None = None) -> list[str]:
        """Up to three reasons per row, each with its direction, joined into one cell (see
        models.explain; `directions_cell` reads the directions back as a field); `encoded`:
        the frame's `encode`, when the caller has it."""
        contributions = self.churn.contributions(frame, encoded)
        texts = top_reasons(contributions, frame, self.features, self.reason_templates)
        return [join_reasons(t) for t in texts]

    def fill_reasons(
        self, scores: pd.DataFrame, features: pd.DataFrame, rows: pd.Index
    ) -> pd.DataFrame:
        """`scores` with reasons for the given rows (matched to `features` by customer_id)."""
        if len(rows) == 0:
            return scores
        wanted = scores.loc[rows, "customer_id"]
        found = features.set_index("customer_id").loc[wanted].reset_index()
        out = scores.copy()
        reasons = self.reasons(self.prepare(found))
        out.loc[rows, "reasons"] = reasons
        if "reason_directions" in out:
            out.loc[rows, "reason_directions"] = [directions_cell(r) for r in reasons]
        return out
