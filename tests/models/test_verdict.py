"""The plain verdict: one word from the top-decile lift and the calibration, by the documented
thresholds, with the figures behind it."""

from __future__ import annotations

import pytest

from models.verdict import verdict


@pytest.mark.parametrize(
    ("lift", "ece", "word"),
    [(1.7, 0.03, "Good"), (1.5, 0.05, "Good"), (1.7, 0.06, "Fair"), (1.2, 0.10, "Fair"),
     (1.19, 0.01, "Weak"), (2.0, 0.11, "Weak"), (None, 0.01, "Unknown"),
     (float("nan"), 0.01, "Unknown")],
)  # fmt: skip
def test_the_word_follows_the_thresholds(lift: float | None, ece: float, word: str) -> None:
    assert verdict(lift, ece).word == word


def test_the_text_gives_the_figures() -> None:
    assert verdict(1.72, 0.027).text == (
        "Good: the riskiest 10 % churn 1.7x as often as average; "
        "probabilities within 3 points of what happened"
    )
    assert verdict(1.72, 0.002).detail.endswith("within 1 point of what happened")
