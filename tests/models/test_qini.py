"""Qini, AUUC and uplift calibration on campaigns whose true uplift is known by construction."""

from __future__ import annotations

import numpy as np

from models.qini import auuc, bootstrap, calibration, qini_coefficient, qini_curve


def _campaign(n: int = 6000, seed: int = 0, scale: float = 0.3):
    rng = np.random.default_rng(seed)
    true_uplift = rng.uniform(-0.1, scale, n)
    contacted = rng.random(n) < 0.5
    y = (rng.random(n) < 0.3 + contacted * true_uplift).astype(float)
    return true_uplift, contacted, y


def test_the_true_uplift_ranks_above_random_and_its_reverse_below() -> None:
    u, t, y = _campaign()
    assert qini_coefficient(u, t, y) > 0.01
    assert qini_coefficient(-u, t, y) < -0.01
    assert auuc(u, t, y) > auuc(-u, t, y)
    curve = qini_curve(u, t, y)
    assert curve["share"].iloc[-1] == 1.0 and len(curve) == 100


def test_bootstrap_interval_excludes_zero_only_with_a_signal() -> None:
    u, t, y = _campaign()
    assert bootstrap(qini_coefficient, u, t, y, rounds=100).low > 0
    noise = np.random.default_rng(5).random(len(u))
    flat = bootstrap(qini_coefficient, noise, t, y, rounds=100)
    assert flat.low <= 0 <= flat.high


def test_calibration_finds_the_truth_within_its_interval_and_flags_a_biased_one() -> None:
    u, t, y = _campaign(n=20000, seed=1)
    table = calibration(u, t, y)
    assert list(table["bin"]) == [1, 2, 3, 4, 5]
    assert table["within"].all()
    assert table["predicted_uplift"].is_monotonic_decreasing
    assert not calibration(u + 0.2, t, y)["within"].any()


def test_the_interval_counts_the_predictions_own_bootstrap_spread() -> None:
    """A prediction off by 0.08 is refused when its bags agree, not when they disagree by
    about that much: the interval is the predicted mean's, not only the observed one's."""
    u, t, y = _campaign(n=20000, seed=1)
    agreeing = np.column_stack([u + 0.08] * 5)
    disagreeing = agreeing + np.array([-0.1, -0.05, 0.0, 0.05, 0.1])
    assert not calibration(agreeing, t, y)["within"].any()
    table = calibration(disagreeing, t, y)
    assert table["within"].all() and (table["se_predicted"] > 0.07).all()
    assert (table["interval_low"] < table["predicted_uplift"]).all()
