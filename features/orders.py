"""Recency, frequency, spend, order value, purchase cycle, returns and mix from orders."""

from __future__ import annotations

import duckdb

from features.schema import (
    CANCELLED_STATUS,
    COMPLETED_STATUS,
    ORDER_WINDOWS_DAYS,
    RETURNED_STATUS,
)
from features.sql import days_between, gaps_of, sql_text

# Up to this many distinct categories are counted with a 64-bit (signed) mask per customer, and up to
# this many channels with one counter each: plain aggregates, far cheaper than DISTINCT / mode.
MASKED_CATEGORIES = 63
COUNTED_CHANNELS = 16


def amounts_known(con: duckdb.DuckDBPyConnection, orders: str = "orders") -> bool:
    """Whether the orders carry amounts (a source gives them for every order or for none)."""
    return bool(con.execute(f"SELECT count(amount) > 0 FROM {orders}").fetchall()[0][0])


def no_spend(has_amounts: bool) -> str:
    """What a sum of amounts over no orders is: 0 when amounts are known, else NULL (spend
    features are absent, not zero, for a source without amounts)."""
    return "0" if has_amounts else "NULL"


def _window_columns(has_amounts: bool) -> str:
    parts = []
    for w in ORDER_WINDOWS_DAYS:
        parts.append(f"count(*) FILTER (WHERE done AND age_days <= {w}) AS orders_{w}d")
        parts.append(
            f"coalesce(sum(amount) FILTER (WHERE done AND age_days <= {w}), "
            f"{no_spend(has_amounts)}) AS spend_{w}d"
        )
    return ",\n            ".join(parts)


def _domain(con: duckdb.DuckDBPyConnection, column: str, limit: int) -> list[str] | None:
    """The distinct non-null values of `orders.column`, or None when there are more than `limit`."""
    values = con.execute(
        f"SELECT DISTINCT {column} FROM orders WHERE {column} IS NOT NULL ORDER BY 1 LIMIT ?",
        [limit + 1],
    ).fetchall()
    return None if len(values) > limit else [str(v[0]) for v in values]


def mix_sql(
    con: duckdb.DuckDBPyConnection, bits_table: str = "_category_bits"
) -> tuple[str, str, str]:
    """(aggregates, final columns, join) for categories_total, channels_total, main_channel,
    from the vocabularies of the whole `orders` table (read once, whatever the passes).
    Category bits go into the temporary table `bits_table` (the caller names it uniquely)."""
    aggregates, final, join = [], [], ""
    categories = _domain(con, "category", MASKED_CATEGORIES)
    if categories is None:
        aggregates.append("count(DISTINCT category) FILTER (WHERE done) AS categories_total")
        final.append("categories_total")
    elif not categories:
        final.append("0 AS categories_total")
    else:
        rows = ", ".join(
            f"({sql_text(v)}, CAST({1 << k} AS BIGINT))" for k, v in enumerate(categories)
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {bits_table} AS "
            f"SELECT * FROM (VALUES {rows}) AS t(category, bit)"
        )
        aggregates.append(
            "coalesce(bit_count(bit_or(bit) FILTER (WHERE done)), 0) AS categories_total"
        )
        join = f"LEFT JOIN {bits_table} b ON b.category = o.category"
        final.append("categories_total")
    channels = _domain(con, "channel", COUNTED_CHANNELS)
    if channels is None:
        aggregates.append("count(DISTINCT channel) FILTER (WHERE done) AS channels_total")
        aggregates.append("mode(channel) FILTER (WHERE done) AS main_channel")
        final += ["channels_total", "main_channel"]
    elif not channels:
        final += ["0 AS channels_total", "CAST(NULL AS VARCHAR) AS main_channel"]
    else:
        counts = [f"_channel_{i}" for i in range(len(channels))]
        aggregates += [
            f"count(*) FILTER (WHERE done AND channel = {sql_text(v)}) AS {n}"
            for v, n in zip(channels, counts, strict=True)
        ]
        top = f"greatest({', '.join(counts)})"
        final.append(f"{' + '.join(f'({n} > 0)::INT' for n in counts)} AS channels_total")
        cases = " ".join(
            f"WHEN {n} = {top} THEN {sql_text(v)}" for v, n in zip(channels, counts, strict=True)
        )
        final.append(f"CASE WHEN {top} > 0 THEN CASE {cases} END END AS main_channel")
    return ",\n            ".join(aggregates), ", ".join(final), join


def order_features(
    con: duckdb.DuckDBPyConnection,
    cutoffs: str,
    orders: str = "orders",
    mix: tuple[str, str, str] | None = None,
    has_amounts: bool | None = None,
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at): order features from orders placed before the cutoff.

    In: `orders` (a table or view of the orders table: one pass of customers), `cutoffs` and
    `mix` (see `mix_sql`; computed when not given). A window of w days covers [cutoff - w, cutoff); `age_days` is
    an order's age at the cutoff, so `age_days <= w` is that window. Orders at or after the
    cutoff never enter. Counts and spend are over completed orders; returns and cancellations
    are counted apart, and the `net_` spend takes returned or credited value off (never below
    0): what the customer is worth. Only customers with at least one completed order before the cutoff get
    a row. Everything is one hash aggregation over the orders joined to the cutoffs: gaps come
    from the list of order ages (sorted per customer, not a window over all orders), category
    breadth from a bit mask, the main channel from one counter per channel.
    """
    mix_aggregates, mix_columns, mix_join = mix or mix_sql(con)
    known = amounts_known(con) if has_amounts is None else has_amounts
    zero = no_spend(known)
    gap = gaps_of("ages")
    return con.sql(
        f"""
        WITH per AS (
            SELECT customer_id, cutoff_at,
            min(age_days) FILTER (WHERE done) AS days_since_last_order,
            {_window_columns(known)},
            coalesce(sum(amount) FILTER (WHERE done), {zero}) AS spend_total,
            max(amount) FILTER (WHERE done) AS max_order_value,
            count(*) FILTER (WHERE status = '{RETURNED_STATUS}') AS returns_total,
            count(*) FILTER (WHERE status = '{CANCELLED_STATUS}') AS cancellations_total,
            coalesce(sum(amount) FILTER (WHERE status = '{RETURNED_STATUS}'), {zero}) AS returned_value_total,
            coalesce(sum(amount) FILTER (WHERE status = '{RETURNED_STATUS}' AND age_days <= 365),
                {zero}) AS returned_value_365d,
            sum(discount_amount) FILTER (WHERE done) AS discount_total,
            count(*) AS all_orders_total,
            list_sort(list(age_days) FILTER (WHERE done)) AS ages,
            {mix_aggregates}
            FROM (
                SELECT o.customer_id, c.cutoff_at, o.amount, o.status, o.discount_amount,
                    o.channel, {"b.bit" if mix_join else "o.category"},
                    o.status = '{COMPLETED_STATUS}' AS done,
                    {days_between("c.cutoff_at", "o.ordered_at")} AS age_days
                FROM {cutoffs} c JOIN {orders} o ON o.ordered_at < c.cutoff_at {mix_join}
            )
            GROUP BY customer_id, cutoff_at
        ), gaps AS (  -- tenure and count are the end and length of the sorted ages
            SELECT *, list_extract(ages, -1) AS tenure_days, array_length(ages) AS orders_total,
                {gap} AS gaps
            FROM per WHERE days_since_last_order IS NOT NULL
        )
        SELECT customer_id, cutoff_at, days_since_last_order,
            {", ".join(f"orders_{w}d, spend_{w}d" for w in ORDER_WINDOWS_DAYS)},
            orders_total, spend_total, tenure_days, max_order_value,
            spend_90d / nullif(orders_90d, 0) AS avg_order_value_90d,
            spend_180d - spend_90d AS spend_prev_90d, returns_total, cancellations_total, returned_value_total,
            spend_total / orders_total AS avg_order_value,
            greatest(spend_total - returned_value_total, 0) AS net_spend_total,
            greatest(spend_365d - returned_value_365d, 0) AS net_spend_365d,
            greatest(spend_total - returned_value_total, 0) / orders_total AS net_avg_order_value,
            list_median(gaps) AS median_days_between_orders,
            list_stddev_samp(gaps) AS std_days_between_orders,
            list_extract(ages, 2) - list_extract(ages, 1) AS last_gap_days,
            {mix_columns},
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
        FROM gaps
        """
    )
