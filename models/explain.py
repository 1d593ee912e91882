"""Plain-language reasons: the features that push a customer's churn risk up most.

Templates are plain strings (they travel inside the MLflow model); each has a variant for
a missing value, e.g. a customer with a single order has no purchase cycle yet.
"""

from __future__ import annotations

import math

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
    "mean_days_between_orders": (
        "orders only every {mean_days_between_orders:.0f} days",
        "only one order so far, no purchase cycle yet",
    ),
    "orders_30d": ("{orders_30d:.0f} orders in the last 30 days", ""),
    "orders_90d": ("{orders_90d:.0f} orders in the last 90 days", ""),
    "orders_365d": ("{orders_365d:.0f} orders in the last 12 months", ""),
    "orders_total": ("{orders_total:.0f} orders in total", ""),
    "spend_30d": ("spent {spend_30d:,.0f} in the last 30 days", ""),
    "spend_90d": ("spent {spend_90d:,.0f} in the last 90 days", ""),
    "spend_365d": ("spent {spend_365d:,.0f} in the last 12 months", ""),
    "spend_total": ("spent {spend_total:,.0f} in total", ""),
    "tenure_days": ("customer for {tenure_days:.0f} days", ""),
    "complaints_90d": ("{complaints_90d:.0f} complaints in the last 90 days", ""),
    "complaints_total": ("{complaints_total:.0f} complaints in total", ""),
    "open_complaints": ("{open_complaints:.0f} unresolved complaints", ""),
    "days_since_last_complaint": (
        "complained {days_since_last_complaint:.0f} days ago",
        "no complaint on record",
    ),
}


def render(feature: str, row: pd.Series, templates: dict[str, tuple[str, str]]) -> str:
    """One reason for one customer, filled with their own values."""
    present, missing = templates.get(feature, (f"{feature} = {{{feature}}}", ""))
    values = {str(k): None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
    try:
        return present.format(**values)
    except (TypeError, ValueError):  # a value the template needs is missing
        return missing


def top_reasons(
    contributions: np.ndarray,
    frame: pd.DataFrame,
    features: list[str],
    templates: dict[str, tuple[str, str]],
    count: int = 3,
) -> list[list[str]]:
    """Per row, up to `count` reasons from the features with the largest positive
    contribution to churn risk (features that lower the risk are not reasons)."""
    order = np.argsort(-contributions, axis=1)[:, :count]
    out = []
    for i, (_, row) in enumerate(frame[features].iterrows()):
        picked = [features[j] for j in order[i] if contributions[i, j] > 0]
        texts = [render(f, row, templates) for f in picked]
        out.append(list(dict.fromkeys(t for t in texts if t)))
    return out
