"""Value tiers follow the pyramid named in the settings."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from models.scorer import Scorer, value_tier_thresholds


def test_pyramid_shares() -> None:
    spend = pd.Series(range(1, 1001), dtype=float)
    tiers = {"platinum": 0.01, "gold": 0.05, "silver": 0.20, "bronze": 1.0}
    thresholds = value_tier_thresholds(spend, tiers)
    assert list(thresholds) == list(tiers)
    got = Scorer.value_tiers(SimpleNamespace(tier_thresholds=thresholds), spend)  # type: ignore[arg-type]
    assert pd.Series(got).value_counts().to_dict() == {
        "bronze": 800,
        "silver": 150,
        "gold": 40,
        "platinum": 10,
    }


def test_value_method_is_chosen_by_the_spend_that_followed() -> None:
    from models.scorer import choose_value_method

    frame = pd.DataFrame(
        {
            "churned": [0, 0, 0, 1],
            "spend_365d": [400.0, 800.0, 40.0, 100.0],  # gross; value is net of refunds:
            "net_spend_365d": [
                400.0,
                800.0,
                40.0,
                100.0,
            ],  # run rate over 90 days: 98.6, 197.3, 9.9
            "bgnbd_expected_orders": [5.0, 5.0, 5.0, 0.1],
            "net_avg_order_value": [100.0, 100.0, 100.0, 50.0],  # 500 each: far off
            "spend_next_horizon": [100.0, 200.0, 10.0, 0.0],
        }
    )
    method, errors = choose_value_method(frame, 90)
    assert method == "spend_rate"
    assert errors["spend_rate"] < errors["bgnbd_orders_x_order_value"]
    frame["bgnbd_expected_orders"] = [1.0, 2.0, 0.1, 0.0]  # now exact
    assert choose_value_method(frame, 90)[0] == "bgnbd_orders_x_order_value"
