"""A slow, obvious pandas implementation of core features: the oracle for the SQL version.
Used by tests and by benchmarks/check_features.py; never by the product."""

from __future__ import annotations

import pandas as pd

DAY = pd.Timedelta(days=1)
CORE = (
    "days_since_last_order",
    "orders_90d",
    "orders_365d",
    "spend_90d",
    "spend_365d",
    "orders_total",
    "spend_total",
    "net_spend_total",
    "median_days_between_orders",
    "open_complaints",
    "complaints_total",
)


def oracle_features(
    orders: pd.DataFrame, complaints: pd.DataFrame, cutoff: pd.Timestamp, activity_window_days: int
) -> pd.DataFrame:
    """Core features per customer at `cutoff`, one customer at a time."""
    rows = {}
    done = orders[(orders["status"] == "completed") & (orders["ordered_at"] < cutoff)]
    refunded = orders[(orders["status"] == "returned") & (orders["ordered_at"] < cutoff)]
    refunds = refunded.groupby("customer_id")["amount"].sum()
    for customer, own in done.groupby("customer_id"):
        ages = (cutoff - own["ordered_at"]) / DAY
        if ages.min() > activity_window_days:
            continue
        times = own["ordered_at"].sort_values()
        gaps = times.diff().dropna() / DAY
        mine = complaints[
            (complaints["customer_id"] == customer) & (complaints["opened_at"] < cutoff)
        ]
        still_open = mine["resolved_at"].isna() | (mine["resolved_at"] >= cutoff)
        rows[customer] = {
            "days_since_last_order": ages.min(),
            "orders_90d": int((ages <= 90).sum()),
            "orders_365d": int((ages <= 365).sum()),
            "spend_90d": own.loc[ages <= 90, "amount"].sum(),
            "spend_365d": own.loc[ages <= 365, "amount"].sum(),
            "orders_total": len(own),
            "spend_total": own["amount"].sum(),
            "net_spend_total": max(own["amount"].sum() - refunds.get(customer, 0.0), 0.0),
            "median_days_between_orders": gaps.median() if len(gaps) else float("nan"),
            "open_complaints": int(still_open.sum()),
            "complaints_total": len(mine),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("customer_id").sort_index()
