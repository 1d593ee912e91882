"""Plain-language reasons: the features that push a customer's churn risk up most.

Templates are plain strings (they travel inside the MLflow model); each has a variant for
a missing value, e.g. a customer with a single order has no purchase cycle yet.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

REASON_TEMPLATES: dict[str, tuple[str, str]] = {
    "days_since_last_order": (
        "no order for {days_since_last_order:.0f} days, usual gap {mean_days_between_orders:.0f} days",
        "no order for {days_since_last_order:.0f} days",
    ),
    "overdue_ratio": (
        "{overdue_ratio:.1f}x past their usual {mean_days_between_orders:.0f}-day gap",
        "only one order so far, no purchase cycle yet",
    ),
    "silent_share_of_tenure": (
        "silent for {silent_share_of_tenure:.0%} of their {tenure_days:.0f} days as a customer",
        "",
    ),
    "orders_per_30d_tenure": ("{orders_per_30d_tenure:.1f} orders a month since joining", ""),
    "spend_per_30d_tenure": ("spends {spend_per_30d_tenure:,.0f} a month since joining", ""),
    "mean_days_between_orders": (
        "orders only every {mean_days_between_orders:.0f} days",
        "only one order so far, no purchase cycle yet",
    ),
    "orders_30d": ("{orders_30d:.0f} orders in the last 30 days", ""),
    "orders_90d": ("{orders_90d:.0f} orders in the last 90 days", ""),
    "orders_180d": ("{orders_180d:.0f} orders in the last 6 months", ""),
    "orders_365d": ("{orders_365d:.0f} orders in the last 12 months", ""),
    "orders_total": ("{orders_total:.0f} orders in total", ""),
    "spend_30d": ("spent {spend_30d:,.0f} in the last 30 days", ""),
    "spend_90d": ("spent {spend_90d:,.0f} in the last 90 days", ""),
    "spend_180d": ("spent {spend_180d:,.0f} in the last 6 months", ""),
    "spend_365d": ("spent {spend_365d:,.0f} in the last 12 months", ""),
    "avg_order_value": ("average order {avg_order_value:,.0f}", ""),
    "max_order_value": ("largest order {max_order_value:,.0f}", ""),
    "avg_order_value_90d": (
        "average order {avg_order_value_90d:,.0f} in the last 90 days",
        "no order in the last 90 days",
    ),
    "spend_prev_90d": ("spent {spend_prev_90d:,.0f} in the 90 days before last", ""),
    "spend_change_90d": (
        "spend {spend_change_90d:+.0%} on the previous quarter",
        "no spend in the previous quarter to compare with",
    ),
    "median_days_between_orders": (
        "usually orders every {median_days_between_orders:.0f} days",
        "only one order so far",
    ),
    "std_days_between_orders": (
        "irregular buyer (gaps vary by {std_days_between_orders:.0f} days)",
        "too few orders for a rhythm",
    ),
    "last_gap_days": ("last two orders {last_gap_days:.0f} days apart", "only one order so far"),
    "returns_total": ("{returns_total:.0f} returned orders", ""),
    "cancellations_total": ("{cancellations_total:.0f} cancelled orders", ""),
    "returned_value_total": ("returned goods worth {returned_value_total:,.0f}", ""),
    "return_cancel_share": ("{return_cancel_share:.0%} of orders returned or cancelled", ""),
    "discount_share": ("buys on discount ({discount_share:.0%} of value)", "no discount data"),
    "categories_total": ("buys in {categories_total:.0f} categories", ""),
    "channels_total": ("uses {channels_total:.0f} channels", ""),
    "main_channel": ("buys mostly via {main_channel}", "no channel data"),
    "segment": ("segment {segment}", "no segment on record"),
    "region": ("region {region}", "no region on record"),
    "bgnbd_p_alive": (
        "buying pattern looks inactive ({bgnbd_p_alive:.0%} chance still active)",
        "",
    ),
    "bgnbd_expected_orders": ("{bgnbd_expected_orders:.1f} orders expected in the horizon", ""),
    "bgnbd_p_no_order": (
        "buying pattern gives {bgnbd_p_no_order:.0%} chance of no order in the horizon",
        "",
    ),
    "days_since_signup": ("signed up {days_since_signup:.0f} days ago", "no sign-up date"),
    "spend_total": ("spent {spend_total:,.0f} in total", ""),
    "tenure_days": ("customer for {tenure_days:.0f} days", ""),
    "complaints_30d": ("{complaints_30d:.0f} complaints in the last 30 days", ""),
    "complaints_90d": ("{complaints_90d:.0f} complaints in the last 90 days", ""),
    "complaints_365d": ("{complaints_365d:.0f} complaints in the last 12 months", ""),
    "complaints_total": ("{complaints_total:.0f} complaints in total", ""),
    "open_complaints": ("{open_complaints:.0f} unresolved complaints", ""),
    "mean_resolution_days": (
        "complaints took {mean_resolution_days:.0f} days to resolve",
        "no complaint resolved yet",
    ),
    "max_severity": ("a complaint of severity {max_severity:.0f} of 5", "no complaint on record"),
    "mean_severity": (
        "complaints of average severity {mean_severity:.1f}",
        "no complaint on record",
    ),
    "mean_satisfaction": (
        "satisfaction {mean_satisfaction:.1f} of 5 after complaints",
        "no satisfaction survey",
    ),
    "complaints_per_order": ("{complaints_per_order:.2f} complaints per order", ""),
    "days_since_last_complaint": (
        "complained {days_since_last_complaint:.0f} days ago",
        "no complaint on record",
    ),
}


# Never reasons: model-internal quantities (BG/NBD's) and tenure say nothing a marketer can act on.
NOT_REASONS = frozenset(
    {
        "bgnbd_p_alive",
        "bgnbd_expected_orders",
        "bgnbd_p_no_order",
        "days_since_signup",
        "tenure_days",
    }
)
# Durations in days: one that rounds to 0 (several orders on one day, a complaint resolved the
# day it was opened) is no gap and no delay; a template that would print it is not used.
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
_FIELD = re.compile(r"{(\w+)")

REASONS_SEPARATOR = "; "  # reasons of one customer in one table cell


def join_reasons(texts: list[str]) -> str:
    """Reasons of one customer as one table cell."""
    return REASONS_SEPARATOR.join(texts)


def split_reasons(cell: str | None) -> list[str]:
    """A table cell of reasons back into the list (empty or missing cell: none)."""
    return [r for r in str(cell or "").split(REASONS_SEPARATOR) if r]


# "1 orders" -> "1 order" (also "1 unresolved complaints"); 21, 0.1 or 1.5 stay plural.
_ONE = re.compile(r"(?<![\d.,])1 ((?:[a-z]+ )?)(order|complaint|day|channel)s\b")
_ONE_CATEGORY = re.compile(r"(?<![\d.,])1 categories\b")


def _rounds_to_zero(value: object) -> bool:
    return isinstance(value, float | int) and value < 0.5


def render(feature: str, row: pd.Series, templates: dict[str, tuple[str, str]]) -> str:
    """One reason for one customer, filled with their own values: the first template whose
    values are all known (the variant for a missing value is a template too), else none."""
    variants = templates.get(feature, (f"{feature} = {{{feature}}}", ""))
    values = {str(k): None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
    zero = {k for k in DURATIONS if _rounds_to_zero(values.get(k))}
    if feature in zero:
        return ""
    for template in variants:
        if zero & set(_FIELD.findall(template)):
            continue
        try:
            text = template.format(**values)
        except (TypeError, ValueError, KeyError):  # a value the template needs is missing
            continue
        return _ONE_CATEGORY.sub("1 category", _ONE.sub(r"1 \1\2", text))
    return ""


def top_reasons(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    features: list[str],
    templates: dict[str, tuple[str, str]],
    count: int = 3,
) -> list[list[str]]:
    """Per row, up to `count` reasons from the features with the largest positive
    contribution to churn risk (features that lower the risk are not reasons, nor those in
    NOT_REASONS; a feature with nothing to say leaves its place to the next)."""
    allowed = np.array([f not in NOT_REASONS for f in features])
    ranked = np.where(allowed, contributions, -np.inf)
    order = np.argsort(-ranked, axis=1)[:, : count + _SPARE]
    out = []
    for i, (_, row) in enumerate(frame[features].iterrows()):
        texts: list[str] = []
        for j in order[i]:
            if len(texts) == count or not ranked[i, j] > 0:
                break
            text = render(features[j], row, templates)
            if text and text not in texts:
                texts.append(text)
        out.append(texts)
    return out


_SPARE = 4  # candidates looked at beyond `count`, for reasons that render as nothing


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
    return _ONE_CATEGORY.sub("1 category", _ONE.sub(r"1 \1\2", text))
