"""Recency, frequency, spend, order value, purchase cycle, returns and mix from orders."""

from __future__ import annotations

import duckdb

from features.schema import ORDER_WINDOWS_DAYS

_DAYS = "86400.0"
_DONE = "status = 'completed'"


def order_gaps(con: duckdb.DuckDBPyConnection) -> None:
    """Table `_order_gaps`: each completed order's `gap_days` since the customer's previous one.

    A gap is fixed once its order exists, whatever the cutoff: the gaps of the orders before a
    cutoff are exactly that customer's gaps at the cutoff, so they are computed once.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _order_gaps AS
        SELECT customer_id, ordered_at,
            epoch(ordered_at - lag(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at))
                / {_DAYS} AS gap_days
        FROM orders WHERE {_DONE}"""
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

    In: `orders`, `_order_gaps` (see `order_gaps`) and `cutoffs`. A window of w days covers
    [cutoff - w, cutoff); `age_days` is an order's age at the cutoff, so `age_days <= w` is
    that window. Orders at or after the cutoff never enter. Counts and spend are over
    completed orders; returns and cancellations are counted apart. Only customers with at
    least one completed order before the cutoff get a row. Gap statistics and the channel
    and category mix are separate hash aggregations joined back (cheaper than holistic ones).
    """
    return con.sql(
        f"""
        WITH aged AS MATERIALIZED (
            SELECT o.customer_id, o.amount, o.status, o.discount_amount, o.category, o.channel,
                c.cutoff_at, epoch(c.cutoff_at - o.ordered_at) / {_DAYS} AS age_days
            FROM {cutoffs} c JOIN orders o ON o.ordered_at < c.cutoff_at
        ), per AS (
            SELECT customer_id, cutoff_at,
            min(age_days) FILTER (WHERE {_DONE}) AS days_since_last_order,
            {_window_columns()},
            count(*) FILTER (WHERE {_DONE}) AS orders_total,
            coalesce(sum(amount) FILTER (WHERE {_DONE}), 0) AS spend_total,
            max(age_days) FILTER (WHERE {_DONE}) AS tenure_days,
            max(amount) FILTER (WHERE {_DONE}) AS max_order_value,
            avg(amount) FILTER (WHERE {_DONE} AND age_days <= 90) AS avg_order_value_90d,
            coalesce(sum(amount) FILTER (WHERE {_DONE} AND age_days > 90 AND age_days <= 180), 0)
                AS spend_prev_90d,
            count(*) FILTER (WHERE status = 'returned') AS returns_total,
            count(*) FILTER (WHERE status = 'cancelled') AS cancellations_total,
            coalesce(sum(amount) FILTER (WHERE status = 'returned'), 0) AS returned_value_total,
            sum(discount_amount) FILTER (WHERE {_DONE}) AS discount_total,
            count(*) AS all_orders_total
            FROM aged
            GROUP BY customer_id, cutoff_at
        ), gaps AS (
            SELECT g.customer_id, c.cutoff_at,
                median(g.gap_days) AS median_days_between_orders,
                stddev_samp(g.gap_days) AS std_days_between_orders,
                arg_max(g.gap_days, g.ordered_at) AS last_gap_days
            FROM {cutoffs} c JOIN _order_gaps g ON g.ordered_at < c.cutoff_at
            GROUP BY g.customer_id, c.cutoff_at
        ), by_mix AS (
            SELECT customer_id, cutoff_at, channel, category, count(*) AS n FROM aged
            WHERE {_DONE} AND (channel IS NOT NULL OR category IS NOT NULL) GROUP BY ALL
        ), by_channel AS (
            SELECT customer_id, cutoff_at, channel, sum(n) AS n FROM by_mix
            WHERE channel IS NOT NULL GROUP BY ALL
        ), mix AS (
            SELECT customer_id, cutoff_at, count(DISTINCT category) AS categories_total
            FROM by_mix GROUP BY ALL
        ), channels AS (
            SELECT customer_id, cutoff_at, count(*) AS channels_total,
                arg_max(channel, n) AS main_channel
            FROM by_channel GROUP BY ALL
        )
        SELECT per.* EXCLUDE (all_orders_total, discount_total),
            spend_total / orders_total AS avg_order_value,
            gaps.median_days_between_orders, gaps.std_days_between_orders, gaps.last_gap_days,
            coalesce(mix.categories_total, 0) AS categories_total,
            coalesce(channels.channels_total, 0) AS channels_total,
            channels.main_channel,
            CASE WHEN orders_total > 1 THEN (tenure_days - days_since_last_order) / (orders_total - 1) END
                AS mean_days_between_orders,
            days_since_last_order / nullif(
                CASE WHEN orders_total > 1 THEN (tenure_days - days_since_last_order) / (orders_total - 1) END, 0)
                AS overdue_ratio,
            days_since_last_order / nullif(tenure_days, 0) AS silent_share_of_tenure,
            orders_total * 30 / greatest(tenure_days, 30) AS orders_per_30d_tenure,
            spend_total * 30 / greatest(tenure_days, 30) AS spend_per_30d_tenure,
            spend_90d / nullif(spend_prev_90d, 0) - 1 AS spend_change_90d,
            (returns_total + cancellations_total) / all_orders_total AS return_cancel_share,
            discount_total / nullif(discount_total + spend_total, 0) AS discount_share
        FROM per
        LEFT JOIN gaps USING (customer_id, cutoff_at)
        LEFT JOIN channels USING (customer_id, cutoff_at)
        LEFT JOIN mix USING (customer_id, cutoff_at)
        WHERE orders_total > 0
        """
    )
