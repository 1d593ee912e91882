"""Harrell's C in O(n log n) equals the all-pairs definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.metrics import concordance_index


def all_pairs(t: np.ndarray, e: np.ndarray, s: np.ndarray) -> float:
    """The definition: pairs (i observed, j later); concordant when s_j > s_i, ties half."""
    concordant = comparable = 0.0
    for i in np.flatnonzero(e):
        later = t > t[i]
        comparable += later.sum()
        concordant += (later & (s > s[i])).sum() + 0.5 * (later & (s == s[i])).sum()
    return concordant / comparable if comparable else float("nan")


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 6), st.booleans(), st.integers(0, 4)), min_size=1, max_size=30
    )
)
def test_equals_all_pairs_with_ties_and_censoring(rows) -> None:
    t, e, s = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    got, want = concordance_index(t, e.astype(bool), s), all_pairs(t, e.astype(bool), s)
    assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want)


def test_a_perfect_and_a_reversed_ranking() -> None:
    t = np.arange(1.0, 11.0)
    e = np.ones(10, dtype=bool)
    assert concordance_index(t, e, t) == 1.0
    assert concordance_index(t, e, -t) == 0.0
