"""Reason texts: filled with the customer's own values, singular for one, fallback when missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.explain import (
    ACTIONABLE,
    REASON_TEMPLATES,
    cycle_reason,
    direction_of,
    directions_cell,
    join_reasons,
    render,
    top_reasons,
)


@pytest.mark.parametrize(
    ("feature", "values", "expected"),
    [
        ("orders_90d", {"orders_90d": 1.0}, "1 order in the last 90 days"),
        ("orders_90d", {"orders_90d": 2.0}, "2 orders in the last 90 days"),
        ("orders_90d", {"orders_90d": 21.0}, "21 orders in the last 90 days"),
        ("orders_90d", {"orders_90d": 0.0}, "no order in the last 90 days"),
        ("open_complaints", {"open_complaints": 1.0}, "1 unresolved complaint"),
        ("open_complaints", {"open_complaints": 0.0}, ""),  # no complaint is no cause
        ("returns_total", {"returns_total": 1.0}, "1 returned order"),
        (
            "days_since_last_order",
            {"days_since_last_order": 1.2, "mean_days_between_orders": 31.0},
            "last order 1 day ago, usually every 31 days",
        ),
        (  # one order: no usual gap, so the variant without it
            "days_since_last_order",
            {"days_since_last_order": 143.4, "mean_days_between_orders": float("nan")},
            "last order 143 days ago",
        ),
        ("overdue_ratio", {"overdue_ratio": float("nan")}, "only one order so far"),
        (  # several orders on one day: no gap to be overdue on, and not "one order"
            "overdue_ratio",
            {"overdue_ratio": 3.0, "mean_days_between_orders": 0.0},
            "",
        ),
        (
            "spend_change_90d",
            {"spend_change_90d": -0.4},
            "spend in the last 90 days -40% on the 90 days before",
        ),
        ("spend_change_90d", {"spend_change_90d": float("nan")}, ""),
        ("mean_satisfaction", {"mean_satisfaction": float("nan")}, ""),
        ("days_since_signup", {"days_since_signup": 578.0}, ""),  # no template: never a reason
    ],
)
def test_reason_text(feature: str, values: dict[str, float], expected: str) -> None:
    assert render(feature, pd.Series(values), REASON_TEMPLATES) == expected


def test_reasons_move_the_risk_most_whichever_way_each_saying_which() -> None:
    frame = pd.DataFrame({"orders_90d": [1.0, 3.0], "open_complaints": [2.0, 0.0]})
    contributions = np.array([[0.2, 0.5], [-0.3, 0.0]])
    reasons = top_reasons(contributions, frame, ["orders_90d", "open_complaints"], REASON_TEMPLATES)
    assert reasons == [
        [
            "2 unresolved complaints (raises the risk)",
            "1 order in the last 90 days (raises the risk)",
        ],
        ["3 orders in the last 90 days (lowers the risk)"],
    ]
    cell = join_reasons(reasons[0] + reasons[1])
    assert directions_cell(cell) == "raises; raises; lowers"
    assert direction_of(cycle_reason(9.0, 3.0, 0.6, 14)) == ""  # a due list's: no direction


@pytest.mark.parametrize("feature", sorted(REASON_TEMPLATES))
def test_no_reason_text_keeps_a_placeholder(feature: str) -> None:
    """Whatever is known or missing, a reason is plain text: never '{' or '}'."""
    names = {f for pair in REASON_TEMPLATES.values() for t in pair for f in _fields(t)}
    for known in (True, False):
        row = pd.Series({n: (3.0 if known else float("nan")) for n in names}, dtype=object)
        for text_feature in ("main_channel", "segment", "region"):
            row[text_feature] = "web" if known else None
        text = render(feature, row, REASON_TEMPLATES)
        assert "{" not in text and "}" not in text, (feature, known, text)


def _fields(template: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def test_zero_durations_model_quantities_and_tenure_are_never_reasons() -> None:
    """Several orders on one day (gap 0), a complaint resolved the day it came, BG/NBD's
    expected orders and tenure: none of them is printed as a reason, even with an older
    model's templates that word them; the next feature is."""
    features = [
        "bgnbd_expected_orders",
        "days_since_signup",
        "mean_resolution_days",
        "days_since_last_order",
        "returns_total",
        "orders_90d",
    ]
    frame = pd.DataFrame(
        {
            "bgnbd_expected_orders": [12.3],
            "days_since_signup": [578.0],
            "mean_resolution_days": [0.0],
            "days_since_last_order": [40.0],
            "mean_days_between_orders": [0.0],
            "returns_total": [2.0],
            "orders_90d": [1.0],
        }
    )
    contributions = np.array([[0.9, 0.8, 0.7, 0.6, -0.5, 0.4]])
    older = {
        **REASON_TEMPLATES,
        "days_since_signup": ("signed up {days_since_signup:.0f} days ago", ""),
        "bgnbd_expected_orders": ("{bgnbd_expected_orders:.1f} orders expected", ""),
    }
    (texts,) = top_reasons(contributions, frame, features, older)
    assert texts == [
        "last order 40 days ago (raises the risk)",
        "2 returned orders (lowers the risk)",
        "1 order in the last 90 days (raises the risk)",
    ]
    assert "every 0 days" not in cycle_reason(0.0, 40.0, 0.6, 14)
    assert "last order 1 day ago" in cycle_reason(9.0, 0.2, 0.6, 14)
    assert not {"days_since_signup", "tenure_days", "bgnbd_expected_orders"} & ACTIONABLE
