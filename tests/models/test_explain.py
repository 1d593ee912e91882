"""Reason texts: filled with the customer's own values, singular for one, fallback when missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.explain import REASON_TEMPLATES, render, top_reasons


@pytest.mark.parametrize(
    ("feature", "values", "expected"),
    [
        ("orders_90d", {"orders_90d": 1.0}, "1 order in the last 90 days"),
        ("orders_90d", {"orders_90d": 2.0}, "2 orders in the last 90 days"),
        ("orders_90d", {"orders_90d": 21.0}, "21 orders in the last 90 days"),
        ("open_complaints", {"open_complaints": 1.0}, "1 unresolved complaint"),
        ("returns_total", {"returns_total": 1.0}, "1 returned order"),
        ("categories_total", {"categories_total": 1.0}, "buys in 1 category"),
        ("channels_total", {"channels_total": 1.0}, "uses 1 channel"),
        (
            "days_since_last_order",
            {"days_since_last_order": 1.2, "mean_days_between_orders": 31.0},
            "no order for 1 day, usual gap 31 days",
        ),
        (
            "bgnbd_expected_orders",
            {"bgnbd_expected_orders": 0.1},
            "0.1 orders expected in the horizon",
        ),
        ("last_gap_days", {"last_gap_days": 1.0}, "last two orders 1 day apart"),
        ("last_gap_days", {"last_gap_days": float("nan")}, "only one order so far"),
    ],
)
def test_reason_text(feature: str, values: dict[str, float], expected: str) -> None:
    assert render(feature, pd.Series(values), REASON_TEMPLATES) == expected


def test_only_features_that_raise_the_risk_are_reasons_largest_first() -> None:
    frame = pd.DataFrame({"orders_90d": [1.0, 3.0], "open_complaints": [2.0, 0.0]})
    contributions = np.array([[0.2, 0.5], [-0.1, 0.0]])
    reasons = top_reasons(contributions, frame, ["orders_90d", "open_complaints"], REASON_TEMPLATES)
    assert reasons == [["2 unresolved complaints", "1 order in the last 90 days"], []]
