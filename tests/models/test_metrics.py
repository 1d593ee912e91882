"""Metrics on hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import (
    concordance_index,
    expected_calibration_error,
    interval_coverage,
    top_decile_lift,
)


def test_ece_is_zero_when_rates_match_and_large_when_they_do_not() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0])
    assert expected_calibration_error(y, np.full(10, 0.4)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(10, 0.9)) == pytest.approx(0.5)


def test_top_decile_lift() -> None:
    y = np.array([1] + [0] * 9 + [1] * 0)
    p = np.linspace(1, 0, 10)
    assert top_decile_lift(y, p) == pytest.approx(10.0)  # the one churner is the riskiest


def test_interval_coverage() -> None:
    assert interval_coverage(
        np.array([1, 5, 9]), np.array([0, 6, 0]), np.array([2, 8, 10])
    ) == pytest.approx(2 / 3)


def test_concordance_with_censoring() -> None:
    time = np.array([1.0, 2.0, 3.0, 4.0])
    observed = np.array([True, True, False, True])
    assert concordance_index(time, observed, time) == 1.0
    assert concordance_index(time, observed, -time) == 0.0
    # the censored customer (time 3) is only ever the later member of a pair
    assert concordance_index(time, observed, np.array([1, 2, 0, 4])) == pytest.approx(3 / 5)
