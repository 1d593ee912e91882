"""Our closed-form BG/NBD against the published CDNOW numbers and against lifetimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.bgnbd import BGNBD

SUMMARY = Path(__file__).parent.parent / "data" / "cdnow_customers_summary.csv"


@pytest.fixture(scope="module")
def cdnow() -> tuple[BGNBD, pd.DataFrame]:
    data = pd.read_csv(SUMMARY)
    model = BGNBD().fit(data["frequency"], data["recency"], data["T"])
    return model, data


def test_reproduces_published_cdnow_parameters(cdnow) -> None:
    model, _ = cdnow
    assert model.converged_
    np.testing.assert_allclose(model.params_, [0.243, 4.414, 0.793, 2.426], atol=0.005)


def test_log_likelihood_matches_btyd(cdnow) -> None:
    model, _ = cdnow
    assert model.log_likelihood_ == pytest.approx(-9582.429, abs=0.5)  # BTYD walkthrough


def test_conditional_expectation_matches_lifetimes_reference(cdnow) -> None:
    model, _ = cdnow
    got = model.expected_purchases(39, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert got[0] == pytest.approx(1.226, abs=0.002)


def test_agrees_with_lifetimes(cdnow) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    model, data = cdnow
    theirs = lifetimes.BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    p_ours = model.p_alive(data["frequency"], data["recency"], data["T"])
    p_theirs = theirs.conditional_probability_alive(data["frequency"], data["recency"], data["T"])
    np.testing.assert_allclose(p_ours, p_theirs, atol=1e-3)


def test_no_purchase_probability_is_a_probability(cdnow) -> None:
    model, data = cdnow
    p = model.p_no_purchase(13, data["frequency"], data["recency"], data["T"])
    assert ((p >= 0) & (p <= 1)).all()
    # more repeat purchases with the same recency and age -> less likely to go silent
    few, many = model.p_no_purchase(
        13, np.array([1.0, 8.0]), np.array([30.0, 30.0]), np.array([38.0, 38.0])
    )
    assert many < few


def test_a_large_base_is_fitted_on_a_sample_close_to_the_full_fit(cdnow) -> None:
    """CDNOW repeated 40 times has the same maximum-likelihood parameters; a 20,000-history
    sample (a fixed draw) lands close to them and gives the same fit every time."""
    model, data = cdnow
    big = pd.concat([data] * 40, ignore_index=True)
    args = (big["frequency"], big["recency"], big["T"])
    sampled = BGNBD(max_fit_rows=20_000).fit(*args)
    again = BGNBD(max_fit_rows=20_000).fit(*args)
    np.testing.assert_array_equal(sampled.params_, again.params_)
    np.testing.assert_allclose(sampled.params_, model.params_, rtol=0.1)
    assert len(sampled.p_alive(*args)) == len(big)  # predictions still cover every history
