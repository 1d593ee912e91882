"""The spend forecast and the value metrics, on worlds whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.spend import SpendForecast, mixture_quantile
from models.value_metrics import decile_calibration, normalized_gini, top_decile_capture

FEATURES = ("habit", "budget")


def world(cutoff: str, customers: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Each customer orders with probability sigmoid(habit) and then spends lognormal around
    exp(budget): the frame, and each one's true P(no order)."""
    rng = np.random.default_rng(seed)
    habit, budget = rng.normal(-0.5, 1.2, customers), rng.normal(4.0, 0.6, customers)
    p_churn = 1 / (1 + np.exp(habit))
    ordered = rng.random(customers) > p_churn
    spend = np.where(ordered, np.expm1(budget + rng.normal(0, 0.7, customers)), 0.0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(customers)],
            "cutoff_at": pd.Timestamp(cutoff),
            "habit": habit,
            "budget": budget,
            "churned": (~ordered).astype(float),
            "spend_next_horizon": spend,
        }
    )
    return frame, p_churn


@pytest.fixture(scope="module")
def fitted() -> SpendForecast:
    parts = [world(c, 4_000, k) for k, c in enumerate(("2024-01-01", "2024-02-01", "2024-03-01"))]
    frame = pd.concat([f for f, _ in parts], ignore_index=True)
    model = SpendForecast(FEATURES, 90, n_estimators=80)
    return model.fit(frame, parts[-1][1])


def test_the_forecast_sums_covers_and_ranks_on_a_new_cutoff(fitted) -> None:
    frame, p_churn = world("2024-06-01", 6_000, 9)
    out = fitted.predict_frame(frame, p_churn, None)
    y = frame["spend_next_horizon"].to_numpy()
    predicted = out["predicted_spend_horizon"].to_numpy()
    assert predicted.sum() / y.sum() == pytest.approx(1.0, abs=0.06)
    inside = (y >= out["predicted_spend_horizon_p10"]) & (y <= out["predicted_spend_horizon_p90"])
    assert 0.75 <= inside.mean() <= 0.85
    truth = (1 - p_churn) * np.exp(frame["budget"] + 0.7**2 / 2)
    assert normalized_gini(y, predicted) > 0.9 * normalized_gini(y, truth)
    assert (out["predicted_clv_365d"] >= out["predicted_spend_horizon"]).all()


def test_the_mixture_is_zero_below_the_chance_of_no_order() -> None:
    low = mixture_quantile(0.1, np.array([0.2, 0.05]), np.array([3.0, 3.0]), 0.5, np.ones(2))
    assert low[0] == 0.0 and low[1] > 0


def test_value_metrics_on_known_rankings() -> None:
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 10, 90], dtype=float)
    assert normalized_gini(y, y) == pytest.approx(1.0)
    assert normalized_gini(y, -y) < 0
    assert top_decile_capture(y, y) == pytest.approx(0.9)
    table = decile_calibration(y, y)
    assert [row["realised"] for row in table][:2] == [90.0, 10.0]
    assert all(row["predicted"] == row["realised"] for row in table)
