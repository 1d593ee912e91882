"""The category curve: censored pairs never train it, the baselines' arithmetic by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from models.category_timing import CycleBaseline, outcome_known

END = pd.Timestamp("2025-01-01")


def test_a_pair_whose_horizon_runs_past_the_data_is_censored() -> None:
    frame = pd.DataFrame(
        {
            "cutoff_at": pd.to_datetime(["2024-06-01", "2024-12-01", "2024-12-01"]),
            "days_to_next_purchase": [np.nan, np.nan, 12.0],
        }
    )
    # horizon over, no purchase: known (none); not over and none yet: censored; seen: known
    assert outcome_known(frame, END, 90).tolist() == [True, False, True]


def _pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "category": ["a", "a", "b", "b"],
            "median_gap_days": [20.0, 40.0, 10.0, np.nan],
            "days_since_purchase": [10.0, 30.0, 5.0, 8.0],
            "days_to_next_purchase": [12.0, 8.0, 5.0, 10.0],
        }
    )


def test_baseline_centres_on_the_own_or_the_category_median_gap() -> None:
    pairs = _pairs()
    own = CycleBaseline("own").fit(pairs)
    population = CycleBaseline("population").fit(pairs)
    # observed next gaps: 22, 38 (a) and 10, 18 (b): category medians 30 and 14
    assert population.population_median_ == {"a": 30.0, "b": 14.0}
    assert own._centers(pairs).tolist() == [20.0, 40.0, 10.0, 14.0]  # no own gap: the category's
    assert population._centers(pairs).tolist() == [30.0, 30.0, 14.0, 14.0]
    ratios = np.log(np.array([22, 38, 10, 18]) / np.array([20, 40, 10, 14]))
    assert own.sigma_ == pytest.approx(max(ratios.std(ddof=1), 0.1))


def test_baseline_probability_is_conditioned_on_the_wait() -> None:
    pairs = _pairs().iloc[:1]
    model = CycleBaseline("own").fit(_pairs())
    cdf = lambda d: norm.cdf((np.log(d) - np.log(20.0)) / model.sigma_)  # noqa: E731
    expected = (cdf(40.0) - cdf(10.0)) / (1 - cdf(10.0))
    assert model.probability(pairs, 30)[0] == pytest.approx(expected)
    summary = model.summary(pairs, 30)
    assert 0 <= summary["interval_low_days"][0] < summary["expected_days"][0]
    assert summary["expected_days"][0] < summary["interval_high_days"][0] <= 90
