"""The level shift from a partly observed newer cutoff (models.recent_rate)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.recent_rate import MAX_SHIFT, Window, recent_rate, shift_churn


def window(n: int, p_churn: float, share: float, orders: int) -> Window:
    return Window(np.full(n, p_churn), np.full(n, share), np.arange(n) < orders)


def test_a_gap_within_the_noise_keeps_the_model() -> None:
    fold = window(400, 0.5, 0.8, 160)  # as predicted: 400 x 0.5 x 0.8
    found = recent_rate(window(400, 0.5, 0.8, 170), fold, observed_days=60)  # SE about 14
    assert (found.observed_orders, round(found.predicted_orders)) == (170, 160)
    assert abs(found.z) < 2 and found.log_odds_shift == 0.0 and not found.applied


def test_fewer_orders_than_predicted_raise_churn_until_they_agree() -> None:
    fold = window(1_000, 0.3, 0.9, 630)  # as predicted
    recent = window(1_000, 0.3, 0.9, 500)
    found = recent_rate(recent, fold, observed_days=60)
    assert found.z < -2 and found.applied
    shifted = shift_churn(recent.p_churn, found.log_odds_shift)
    assert np.allclose(shifted, 1 - 500 / 900)  # churn 0.3 -> 0.444: 500 orders expected


def test_a_gap_the_calibration_fold_shows_too_is_the_curve_not_a_shift() -> None:
    """Both cutoffs order 20 % less within s days than F(s) says (a slow start to every
    horizon): the level stays."""
    found = recent_rate(window(1_000, 0.3, 0.9, 504), window(1_000, 0.3, 0.9, 504), 60)
    assert found.log_odds_shift == 0.0 and round(found.predicted_orders) == 504


def test_more_orders_than_the_curve_allows_stop_at_the_bound() -> None:
    found = recent_rate(window(100, 0.5, 0.5, 100), window(2_000, 0.5, 0.5, 500), 30)
    assert found.log_odds_shift == pytest.approx(MAX_SHIFT)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.02, 0.98), min_size=50, max_size=300),
    st.floats(0.05, 1.0),
    st.floats(-2.5, 2.5),
)
def test_the_shift_keeps_the_ranking_and_matches_the_observed_count(
    churn: list[float], share_by_s: float, true_shift: float
) -> None:
    p = np.array(churn)
    share = np.full(len(p), share_by_s)
    expected = (1 - shift_churn(p, true_shift)) * share
    recent = Window(p, share, np.arange(len(p)) < round(expected.sum()))
    fold = Window(p, share, np.arange(len(p)) < round(((1 - p) * share).sum()))
    found = recent_rate(recent, fold, 45)
    shifted = shift_churn(p, found.log_odds_shift)
    assert np.all(np.diff(shifted[np.argsort(p)]) >= 0)  # the ranking is kept
    baseline = fold.matching_shift()  # the fold's own gap (rounding only, here)
    if found.applied:
        assert abs(found.z) > 2
        if abs(found.log_odds_shift + baseline) < MAX_SHIFT:  # inside the bound: they agree
            assert np.isclose(
                recent.predicted(found.log_odds_shift + baseline), recent.ordered.sum(), atol=1e-6
            )
    else:
        assert abs(found.z) <= 2
