"""A one-word verdict on a model's churn probabilities, with the figures behind it, for people
who do not read ROC-AUC: how much more often the riskiest 10 % churn than average (top-decile
lift, the gain of a list over a random pick) and how far the probabilities are from what
happened (expected calibration error, in percentage points).

Thresholds (README "Model verdict"):
- Good: lift at least 1.5 and probabilities within 5 points;
- Fair: lift at least 1.2 and probabilities within 10 points;
- Weak: anything else (a list barely beats a random pick, or the probabilities mislead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GOOD_LIFT = 1.5
FAIR_LIFT = 1.2
GOOD_CALIBRATION_POINTS = 5
FAIR_CALIBRATION_POINTS = 10


@dataclass(frozen=True)
class Verdict:
    word: str  # Good, Fair, Weak or Unknown
    detail: str  # the figures behind it

    @property
    def text(self) -> str:
        """One line: 'Good: the riskiest 10 % churn 1.7x as often as average; ...'."""
        return f"{self.word}: {self.detail}"


def verdict(top_decile_lift: float | None, calibration_error: float | None) -> Verdict:
    """The verdict from the top-decile lift and the expected calibration error (a share)."""
    if not _known(top_decile_lift) or not _known(calibration_error):
        return Verdict("Unknown", "no lift or calibration was measured (no churners?)")
    assert top_decile_lift is not None and calibration_error is not None
    points = 100 * calibration_error
    within = max(1, math.ceil(points))  # "within 3 points": at most 3
    if top_decile_lift >= GOOD_LIFT and points <= GOOD_CALIBRATION_POINTS:
        word = "Good"
    elif top_decile_lift >= FAIR_LIFT and points <= FAIR_CALIBRATION_POINTS:
        word = "Fair"
    else:
        word = "Weak"
    detail = (
        f"the riskiest 10 % churn {top_decile_lift:.1f}x as often as average; "
        f"probabilities within {within} point{'s' if within > 1 else ''} of what happened"
    )
    return Verdict(word, detail)


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
