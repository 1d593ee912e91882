"""Our Gamma-Gamma against the published CDNOW parameters and against lifetimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.gamma_gamma import GammaGamma

SUMMARY = Path(__file__).parent.parent / "data" / "cdnow_customers_summary_with_transactions.csv"


@pytest.fixture(scope="module")
def repeat() -> pd.DataFrame:
    data = pd.read_csv(SUMMARY)
    return data[data["x"] > 0]


def test_reproduces_published_cdnow_parameters(repeat) -> None:
    model = GammaGamma().fit(repeat["x"], repeat["zbar"])
    assert model.converged_
    assert len(repeat) == 946
    # Fader, Hardie & Lee's published values (and lifetimes' documented ones), to 2 decimals:
    # the exact maximum is p 6.2488, q 3.7446, gamma 15.4477 (lifetimes 0.11.3 finds the same)
    np.testing.assert_allclose(model.params_, [6.25, 3.74, 15.44], atol=0.01)
    np.testing.assert_allclose(model.params_, [6.2488, 3.7446, 15.4477], atol=2e-3)


def test_expected_order_value_agrees_with_lifetimes(repeat) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    ours = GammaGamma().fit(repeat["x"], repeat["zbar"])
    theirs = lifetimes.GammaGammaFitter().fit(repeat["x"], repeat["zbar"])
    got = ours.expected_order_value(repeat["x"], repeat["zbar"])
    want = theirs.conditional_expected_average_profit(repeat["x"], repeat["zbar"])
    np.testing.assert_allclose(got, want, rtol=1e-3)


def test_customers_without_repeat_orders_get_the_population_mean(repeat) -> None:
    model = GammaGamma().fit(repeat["x"], repeat["zbar"])
    got = model.expected_order_value(np.array([0.0, 3.0]), np.array([np.nan, 40.0]))
    assert got[0] == pytest.approx(model.population_mean())
    assert model.population_mean() < got[1] < 40.0  # shrunk towards the population


def test_a_value_scale_changes_only_gamma(repeat) -> None:
    cents = GammaGamma().fit(repeat["x"], repeat["zbar"] * 100)
    dollars = GammaGamma().fit(repeat["x"], repeat["zbar"])
    np.testing.assert_allclose(cents.params_[:2], dollars.params_[:2], rtol=1e-3)
    assert cents.gamma_ == pytest.approx(dollars.gamma_ * 100, rel=1e-3)
