"""Recency, frequency, spend, order value, purchase cycle, returns and mix from orders."""

from __future__ import annotations

import duckdb

from features.schema import ORDER_WINDOWS_DAYS

_DAYS = "86400.0"
_DONE = "status = 'completed'"


def order_gaps(con: duckdb.DuckDBPyConnection) -> None:
    """Table `_order_gaps`: orders with `gap_days` since the customer's previous completed order.

    A gap is fixed once its order exists, whatever the cutoff: the gaps of the orders before a
    cutoff are exactly that customer's gaps at the cutoff, so they are computed once.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _order_gaps AS
        SELECT customer_id, ordered_at, amount, status, discount_amount, category, channel,
            CASE WHEN {_DONE} THEN epoch(ordered_at - lag(ordered_at) OVER (
                PARTITION BY customer_id, {_DONE} ORDER BY ordered_at)) / {_DAYS} END AS gap_days
        FROM orders"""
    )


def _window_columns() -> str:
    parts = []
    for w in ORDER_WINDOWS_DAYS:
        parts.append(f"count(*) FILTER (WHERE {_DONE} AND age_days <= {w}) AS orders_{w}d")
        parts.append(
            f"coalesce(sum(amount) FILTER (WHERE {_DONE} AND age_days <= {w}), 0) AS spend_{w}d"
        )
    return ",\n            ".join(parts)


def order_features(
    con: duckdb.DuckDBPyConnection, cutoffs: str = "cutoffs"
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at): order features from orders placed before the cutoff.

    In: `_order_gaps` (see `order_gaps`) and `cutoffs`. A window of w days covers
    [cutoff - w, cutoff); `age_days` is an order's age at the cutoff, so `age_days <= w` is
    that window. Orders at or after the cutoff never enter. Counts and spend are over
    completed orders; returns and cancellations are counted apart. Only customers with at
    least one completed order before the cutoff get a row.
    """
    return con.sql(
        f"""
        WITH aged AS (
            SELECT o.*, c.cutoff_at, epoch(c.cutoff_at - o.ordered_at) / {_DAYS} AS age_days
            FROM {cutoffs} c JOIN _order_gaps o ON o.ordered_at < c.cutoff_at
        ), per AS (
            SELECT customer_id, cutoff_at,
            min(age_days) FILTER (WHERE {_DONE}) AS days_since_last_order,
            {_window_columns()},
            count(*) FILTER (WHERE {_DONE}) AS orders_total,
            coalesce(sum(amount) FILTER (WHERE {_DONE}), 0) AS spend_total,
            max(age_days) FILTER (WHERE {_DONE}) AS tenure_days,
            avg(amount) FILTER (WHERE {_DONE}) AS avg_order_value,
            max(amount) FILTER (WHERE {_DONE}) AS max_order_value,
            avg(amount) FILTER (WHERE {_DONE} AND age_days <= 90) AS avg_order_value_90d,
            coalesce(sum(amount) FILTER (WHERE {_DONE} AND age_days > 90 AND age_days <= 180), 0)
                AS spend_prev_90d,
            median(gap_days) AS median_days_between_orders,
            stddev_samp(gap_days) AS std_days_between_orders,
            arg_min(gap_days, age_days) FILTER (WHERE {_DONE}) AS last_gap_days,
            count(*) FILTER (WHERE status = 'returned') AS returns_total,
            count(*) FILTER (WHERE status = 'cancelled') AS cancellations_total,
            coalesce(sum(amount) FILTER (WHERE status = 'returned'), 0) AS returned_value_total,
            sum(discount_amount) FILTER (WHERE {_DONE}) AS discount_total,
            count(DISTINCT category) FILTER (WHERE {_DONE}) AS categories_total,
            count(DISTINCT channel) FILTER (WHERE {_DONE}) AS channels_total,
            mode(channel) FILTER (WHERE {_DONE}) AS main_channel,
            count(*) AS all_orders_total
            FROM aged
            GROUP BY customer_id, cutoff_at
        )
        SELECT * EXCLUDE (all_orders_total, discount_total),
            CASE WHEN orders_total > 1 THEN (tenure_days - days_since_last_order) / (orders_total - 1) END
                AS mean_days_between_orders,
            days_since_last_order / nullif(
                CASE WHEN orders_total > 1 THEN (tenure_days - days_since_last_order) / (orders_total - 1) END, 0)
                AS overdue_ratio,
            spend_90d / nullif(spend_prev_90d, 0) - 1 AS spend_change_90d,
            (returns_total + cancellations_total) / all_orders_total AS return_cancel_share,
            discount_total / nullif(discount_total + spend_total, 0) AS discount_share
        FROM per
        WHERE orders_total > 0
        """
    )
