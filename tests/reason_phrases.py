"""The phrases a churn reason may take (issue 28): signals a marketer reads as a cause,
recency against the customer's own cycle, falling frequency or spend, recent or open
complaints and their satisfaction, returns and cancellations, each ending in its direction.
Anything else in a scored base's reasons fails the tests that call `check_every_reason`."""

from __future__ import annotations

import re

import pandas as pd

from models.explain import direction_of, directions_cell, split_reasons
from pipelines.home import Home, open_registry
from pipelines.settings import Settings

_N = r"[1-9]\d*"  # a count or a duration: never 0 (nothing to say)
_ORDERS = rf"(no order|1 order|{_N} orders)"
ALLOWED_REASONS = [
    rf"last order (1 day|{_N} days) ago, usually every (1 day|{_N} days)",
    rf"last order (1 day|{_N} days) ago",
    rf"\d+\.\dx their usual {_N}-day gap since the last order",
    r"only one order so far",
    rf"{_ORDERS} in the last (30 days|90 days|6 months|12 months)",
    r"spend in the last 90 days [+-]\d+% on the 90 days before",
    rf"(1 complaint|{_N} complaints) in the last (30 days|90 days|12 months)",
    rf"(1 unresolved complaint|{_N} unresolved complaints)",
    rf"last complaint (1 day|{_N} days) ago",
    r"satisfaction \d\.\d of 5 after complaints",
    rf"(1 returned order|{_N} returned orders)",
    rf"(1 cancelled order|{_N} cancelled orders)",
    rf"{_N}% of orders returned or cancelled",
]
DIRECTION = r" \((raises|lowers) the risk\)"
ALLOWED = re.compile(rf"({'|'.join(ALLOWED_REASONS)}){DIRECTION}")
NEVER = re.compile(r"signed up|customer for|joining|expected|still active|(?<![\d.])0 days")


def check_every_reason(scores: pd.DataFrame, settings: Settings, more: list[str]) -> None:
    """Every reason of `scores`, of the cells in `more` (a list's) and of every scored customer
    explained on the spot with the scores' version (the whole base, not only `reasons_top`)
    is an allowed phrase; none mentions tenure or a zero duration; the scores' directions
    field follows the words, and both directions occur."""
    scorer, _ = open_registry(settings).load_scorer(str(scores["model_version"].iloc[0]))
    everyone = scorer.reasons(scorer.prepare(pd.read_parquet(Home.of(settings).features)))
    reasons = [r for cell in [*scores["reasons"], *more, *everyone] for r in split_reasons(cell)]
    assert len(everyone) == len(scores) and len(reasons) > 2 * len(scores)
    wrong = sorted({r for r in reasons if not ALLOWED.fullmatch(r)})
    assert not wrong, wrong[:20]
    assert not [r for r in reasons if NEVER.search(r)]
    assert {direction_of(r) for r in reasons} == {"raises", "lowers"}
    explained = scores[scores["reasons"] != ""]
    assert (
        len(explained)
        and (explained["reasons"].map(directions_cell) == explained["reason_directions"]).all()
    )
    assert (scores.loc[scores["reasons"] == "", "reason_directions"] == "").all()
