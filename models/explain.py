"""Plain-language reasons: the signals that move a customer's churn risk most, each saying
whether it raises or lowers the risk.

Only signals a marketer can read as a cause and act on are reasons (ACTIONABLE): recency
against the customer's own cycle, falling frequency or spend, recent or open complaints and
their satisfaction, returns and cancellations. Tenure, model-internal quantities (BG/NBD's),
lifetime totals and money figures never are. Templates are plain strings (they travel inside
the MLflow model); a second variant speaks when the feature's own value is missing, e.g. a
customer with a single order has no purchase cycle yet.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

REASON_TEMPLATES: dict[str, tuple[str, str]] = {
    "days_since_last_order": (
        "last order {days_since_last_order:.0f} days ago, usually every "
        "{mean_days_between_orders:.0f} days",
        "last order {days_since_last_order:.0f} days ago",
    ),
    "overdue_ratio": (
        "{overdue_ratio:.1f}x their usual {mean_days_between_orders:.0f}-day gap since the last order",
        "only one order so far",
    ),
    "orders_30d": ("{orders_30d:.0f} orders in the last 30 days", ""),
    "orders_90d": ("{orders_90d:.0f} orders in the last 90 days", ""),
    "orders_180d": ("{orders_180d:.0f} orders in the last 6 months", ""),
    "orders_365d": ("{orders_365d:.0f} orders in the last 12 months", ""),
    "spend_change_90d": (
        "spend in the last 90 days {spend_change_90d:+.0%} on the 90 days before",
        "",
    ),
    "complaints_30d": ("{complaints_30d:.0f} complaints in the last 30 days", ""),
    "complaints_90d": ("{complaints_90d:.0f} complaints in the last 90 days", ""),
    "complaints_365d": ("{complaints_365d:.0f} complaints in the last 12 months", ""),
    "open_complaints": ("{open_complaints:.0f} unresolved complaints", ""),
    "days_since_last_complaint": ("last complaint {days_since_last_complaint:.0f} days ago", ""),
    "mean_satisfaction": ("satisfaction {mean_satisfaction:.1f} of 5 after complaints", ""),
    "returns_total": ("{returns_total:.0f} returned orders", ""),
    "cancellations_total": ("{cancellations_total:.0f} cancelled orders", ""),
    "return_cancel_share": ("{return_cancel_share:.0%} of orders returned or cancelled", ""),
}
# The only features that are ever reasons, whatever templates a model carries (an older
# model's include tenure and BG/NBD's quantities: they say nothing a marketer can act on).
ACTIONABLE = frozenset(REASON_TEMPLATES)
# Values that say nothing when they round to 0: a duration of 0 days (several orders on one
# day, a complaint the day of the cutoff) is no gap and no delay, and no complaint or return
# is the absence of a cause; a template that would print one is not used.
DURATIONS = frozenset(
    {
        "days_since_last_order",
        "mean_days_between_orders",
        "median_days_between_orders",
        "std_days_between_orders",
        "last_gap_days",
        "mean_resolution_days",
        "days_since_last_complaint",
    }
)
NOTHING_AT_ZERO = DURATIONS | {
    "overdue_ratio",
    "complaints_30d",
    "complaints_90d",
    "complaints_365d",
    "open_complaints",
    "returns_total",
    "cancellations_total",
    "return_cancel_share",
}
RAISES, LOWERS = "raises", "lowers"  # a reason's direction: what it does to the churn risk
_DIRECTION = re.compile(r" \((raises|lowers) the risk\)$")
_FIELD = re.compile(r"{(\w+)")

REASONS_SEPARATOR = "; "  # reasons of one customer in one table cell


def join_reasons(texts: list[str]) -> str:
    """Reasons of one customer as one table cell."""
    return REASONS_SEPARATOR.join(texts)


def split_reasons(cell: str | None) -> list[str]:
    """A table cell of reasons back into the list (empty or missing cell: none)."""
    return [r for r in str(cell or "").split(REASONS_SEPARATOR) if r]


def with_direction(text: str, contribution: float) -> str:
    """The reason with what it does to the risk, in words: '... (raises the risk)'."""
    return f"{text} ({RAISES if contribution > 0 else LOWERS} the risk)"


def direction_of(reason: str) -> str:
    """'raises' or 'lowers' from a reason's wording; '' for one without (a due list's)."""
    found = _DIRECTION.search(reason)
    return found.group(1) if found else ""


def directions_cell(cell: str | None) -> str:
    """The directions of a cell of reasons, one per reason in the same order ('raises; lowers')."""
    return join_reasons([direction_of(r) for r in split_reasons(cell)])


# "1 orders" -> "1 order" (also "1 unresolved complaints"); 21, 0.1 or 1.5 stay plural.
_ONE = re.compile(r"(?<![\d.,])1 ((?:[a-z]+ )?)(order|complaint|day|channel)s\b")
_ONE_CATEGORY = re.compile(r"(?<![\d.,])1 categories\b")
# "0 orders in the last 90 days" -> "no order in the last 90 days"
_NONE = re.compile(r"^0 ((?:[a-z]+ )?)(order|complaint)s\b")


def _rounds_to_zero(value: object) -> bool:
    return (
        isinstance(value, numbers.Real) and not isinstance(value, bool) and abs(float(value)) < 0.5
    )


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def render(feature: str, row: Mapping[str, object], templates: dict[str, tuple[str, str]]) -> str:
    """One reason for one customer, filled with their own values: the first template whose
    values are all known and none a zero that says nothing (NOTHING_AT_ZERO); a template
    without the feature itself (the variant for a missing value) only when it is missing."""

    def known(name: str) -> object:
        value = row.get(name)
        return None if _missing(value) else value

    if feature in NOTHING_AT_ZERO and _rounds_to_zero(known(feature)):
        return ""
    for template in templates.get(feature, ("", "")):
        fields = set(_FIELD.findall(template))
        if not template or any(_rounds_to_zero(known(f)) for f in fields & NOTHING_AT_ZERO):
            continue
        if feature not in fields and known(feature) is not None:
            continue
        try:
            text = template.format(**{f: known(f) for f in fields})
        except (TypeError, ValueError, KeyError):  # a value the template needs is missing
            continue
        return _plural(_NONE.sub(r"no \1\2", text))
    return ""


def _rows(
    frame: pd.DataFrame, features: list[str], templates: dict[str, tuple[str, str]]
) -> Iterator[dict[str, object]]:
    """Each row's values of the columns a reason can print, as a plain dict (a row Series of
    every feature cost more than the reasons)."""
    wanted = {f for f in features if f in ACTIONABLE}
    for feature in list(wanted):
        for template in templates.get(feature, ("", "")):
            wanted |= set(_FIELD.findall(template))
    columns = [c for c in frame.columns if c in wanted]
    if not columns:
        yield from ({} for _ in range(len(frame)))
        return
    for values in zip(*(frame[c].tolist() for c in columns), strict=True):
        yield dict(zip(columns, values, strict=True))


def _plural(text: str) -> str:
    return _ONE_CATEGORY.sub("1 category", _ONE.sub(r"1 \1\2", text))


def top_reasons(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    features: list[str],
    templates: dict[str, tuple[str, str]],
    count: int = 3,
) -> list[list[str]]:
    """Per row, up to `count` reasons from the ACTIONABLE features that move the churn risk
    most (largest absolute contribution first), each saying whether it raises or lowers the
    risk; a feature with nothing to say leaves its place to the next."""
    allowed = np.array([f in ACTIONABLE for f in features])
    strength = np.where(allowed, np.abs(contributions), -np.inf)
    order = np.argsort(-strength, axis=1)[:, : len(ACTIONABLE)]
    out = []
    for i, row in enumerate(_rows(frame, features, templates)):
        texts: list[str] = []
        for j in order[i]:
            if len(texts) == count or not strength[i, j] > 0:
                break
            text = render(features[j], row, templates)
            if text and not any(t.startswith(text + " (") for t in texts):
                texts.append(with_direction(text, contributions[i, j]))
        out.append(texts)
    return out


def cycle_reason(
    median_days_between_orders: float, days_since_last_order: float, probability: float, days: float
) -> str:
    """Why a customer is due: their own rhythm, where they are in it, and the chance of an
    order in the window (reasons of a due list speak of the cycle, not of churn risk). An
    order in the hours before the cutoff was the day before: never "0 days ago"."""
    ago = max(days_since_last_order, 1.0)
    if math.isnan(median_days_between_orders):
        rhythm = f"one order so far, {ago:.0f} days ago"
    elif median_days_between_orders < 0.5:  # every order on one day: no cycle yet
        rhythm = f"no purchase cycle yet; last order {ago:.0f} days ago"
    else:
        rhythm = (
            f"usually orders every {median_days_between_orders:.0f} days; "
            f"last order {ago:.0f} days ago"
        )
    text = join_reasons([rhythm, f"{probability:.0%} chance of an order within {days:g} days"])
    return _plural(text)
