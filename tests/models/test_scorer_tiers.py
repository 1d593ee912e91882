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
