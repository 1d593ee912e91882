"""Recency, frequency, spend and purchase-cycle features from completed orders."""

from __future__ import annotations

import duckdb

from features.schema import ORDER_WINDOWS_DAYS

_DAYS = "86400.0"


def _window_columns() -> str:
    parts = []
    for w in ORDER_WINDOWS_DAYS:
        parts.append(f"count(*) FILTER (WHERE age_days <= {w}) AS orders_{w}d")
        parts.append(f"coalesce(sum(amount) FILTER (WHERE age_days <= {w}), 0) AS spend_{w}d")
    return ",\n        ".join(parts)


def order_features(
    con: duckdb.DuckDBPyConnection, cutoffs: str = "cutoffs"
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at): order features from completed orders before the cutoff.

    In: tables `orders` (validated: unique order_id, canonical columns) and `cutoffs`.
    A window of w days covers [cutoff - w, cutoff); `age_days` is the order's age at the
    cutoff, so `age_days <= w` is that window. Orders at or after the cutoff never enter.
    Only customers with at least one such order get a row.
    """
    return con.sql(
        f"""
        WITH aged AS (
            SELECT o.customer_id, c.cutoff_at, o.amount,
                   epoch(c.cutoff_at - o.ordered_at) / {_DAYS} AS age_days
            FROM {cutoffs} c
            JOIN orders o ON o.ordered_at < c.cutoff_at
            WHERE o.status = 'completed'
        )
        SELECT customer_id, cutoff_at,
            min(age_days) AS days_since_last_order,
            {_window_columns()},
            count(*) AS orders_total,
            sum(amount) AS spend_total,
            max(age_days) AS tenure_days,
            CASE WHEN count(*) > 1
                 THEN (max(age_days) - min(age_days)) / (count(*) - 1) END
                AS mean_days_between_orders,
            CASE WHEN count(*) > 1 AND max(age_days) > min(age_days)
                 THEN min(age_days) / ((max(age_days) - min(age_days)) / (count(*) - 1)) END
                AS overdue_ratio
        FROM aged
        GROUP BY customer_id, cutoff_at
        """
    )
