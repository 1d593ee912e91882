"""What a customer buys, by category: the event table kept from order lines, and its features.

`category_events` has one row per (customer, category, order) of the order lines that name a
category (the line's own, else the optional product -> category map): the order's time, its
spend and quantity in that category net of returned lines, and whether it was a purchase (a
sold line and a positive net). Credit notes (their own order id) are rows that are not
purchases, with a negative spend. Cancelled lines never enter. From it, at a cutoff (events
strictly before it): breadth, concentration, dropped categories and the rhythm of the
customer's top categories (CATEGORY_FEATURES); and the (customer, category) pairs the
category timing curve is fitted on (`category_pairs`).
"""

from __future__ import annotations

import duckdb

from features.schema import (
    CANCELLED_STATUS,
    CATEGORY_EVENTS_TABLE,
    CATEGORY_TOP,
    RETURNED_STATUS,
)
from features.sql import days_between, gaps_of, sql_text

CATEGORY_EVENTS = CATEGORY_EVENTS_TABLE.name
EVENTS_DDL = CATEGORY_EVENTS_TABLE.ddl()
DROPPED_WINDOW_DAYS = 90  # bought in the 90 days before the last 90, not in the last 90


def has_category_events(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection holds category events (order lines with categories): without
    them the category features are absent (NULL) and no category curve is fitted."""
    try:
        rows = con.execute(f"SELECT count(*) > 0 FROM {CATEGORY_EVENTS}").fetchall()
    except duckdb.CatalogException:  # a warehouse made before categories, or by hand
        return False
    return bool(rows[0][0])


def returned_line_sql(credit_note_pattern: str | None, alias: str = "") -> str:
    """SQL truth of 'this order line is a return': a negative quantity, a returned status, or
    an order id matching the credit-note pattern (features.lines uses the same rule).
    `alias`: the lines' table alias with its dot ('l.'), or empty."""
    credit = (
        f"regexp_matches({alias}order_id, {sql_text(credit_note_pattern)})"
        if credit_note_pattern
        else "false"
    )
    return (
        f"({credit} OR coalesce({alias}quantity, 0) < 0 "
        f"OR {alias}status IS NOT DISTINCT FROM '{RETURNED_STATUS}')"
    )


def category_events_sql(
    credit_note_pattern: str | None, category_map: str | None, lines: str = "order_lines"
) -> str:
    """SELECT of the event table from validated `lines`; `category_map` names a table of
    (product_id, category) consulted for lines without a category."""
    category = "l.category"
    join = ""
    if category_map is not None:
        category = "coalesce(l.category, m.category)"
        join = f"LEFT JOIN {category_map} m ON m.product_id = l.product_id"
    return f"""
        WITH l AS (
            SELECT l.customer_id, {category} AS category, l.order_id, l.ordered_at,
                CASE WHEN {returned_line_sql(credit_note_pattern, "l.")} THEN -1 ELSE 1 END
                    AS sign,
                abs(coalesce(l.line_amount, l.quantity * l.unit_price)) AS value,
                abs(l.quantity) AS quantity
            FROM {lines} l {join}
            WHERE l.status IS DISTINCT FROM '{CANCELLED_STATUS}'
        ), g AS (
            SELECT customer_id, category, order_id, min(ordered_at) AS ordered_at,
                sum(sign * value) AS net_spend, sum(sign * quantity) AS net_quantity,
                bool_or(sign > 0) AS sold
            FROM l WHERE category IS NOT NULL
            GROUP BY customer_id, category, order_id
        )
        SELECT customer_id, category, order_id, ordered_at, net_spend, net_quantity,
            sold AND coalesce(net_quantity, net_spend, 1) > 0 AS purchase
        FROM g
    """


def _per_category(cutoffs: str, events: str) -> str:
    """SELECT of one row per (customer, cutoff, category) bought before the cutoff: purchases,
    net spend (never below 0), days since the last purchase, whether bought in the last and
    the previous 90 days, the sorted purchase ages (most recent first) and the rank of the
    category for the customer (most purchases, then most spend, then name)."""
    w = DROPPED_WINDOW_DAYS
    return f"""
        WITH category_event_ages AS (
            SELECT e.customer_id, c.cutoff_at, e.category, e.net_spend, e.purchase,
                {days_between("c.cutoff_at", "e.ordered_at")} AS age_days
            FROM {cutoffs} c JOIN {events} e ON e.ordered_at < c.cutoff_at
        ), per_category AS (
            SELECT customer_id, cutoff_at, category,
                count(*) FILTER (WHERE purchase) AS purchases_total,
                greatest(coalesce(sum(net_spend), 0), 0) AS spend_total,
                min(age_days) FILTER (WHERE purchase) AS days_since_purchase,
                count(*) FILTER (WHERE purchase AND age_days <= {w}) AS purchases_{w}d,
                count(*) FILTER (WHERE purchase AND age_days > {w} AND age_days <= {2 * w})
                    AS purchases_prev_{w}d,
                list_sort(list(age_days) FILTER (WHERE purchase)) AS ages
            FROM category_event_ages GROUP BY customer_id, cutoff_at, category
        ), category_gaps AS (  -- a column first: Spark's rewrite reads no nested list calls
            SELECT *, {gaps_of("ages")} AS gaps FROM per_category
        )
        SELECT *, row_number() OVER (
                PARTITION BY customer_id, cutoff_at
                ORDER BY purchases_total DESC, spend_total DESC, category) AS category_rank,
            sum(spend_total) OVER (PARTITION BY customer_id, cutoff_at) AS customer_spend,
            list_median(gaps) AS median_gap_days,
            list_stddev_samp(gaps) AS std_gap_days,
            list_extract(ages, 2) - list_extract(ages, 1) AS last_gap_days
        FROM category_gaps WHERE purchases_total > 0
    """


def category_features(
    con: duckdb.DuckDBPyConnection, cutoffs: str, events: str, lines: str
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at): CATEGORY_FEATURES from `events` (category_events) and
    `lines` (order_lines: product breadth) before the cutoff."""
    w = DROPPED_WINDOW_DAYS
    tops = ", ".join(
        f"max(days_since_purchase) FILTER (WHERE category_rank = {k}) "
        f"AS top{k}_category_days_since_purchase, "
        f"max(median_gap_days) FILTER (WHERE category_rank = {k}) "
        f"AS top{k}_category_median_gap_days"
        for k in range(1, CATEGORY_TOP + 1)
    )
    return con.sql(
        f"""
        WITH pc AS ({_per_category(cutoffs, events)}),
        cat AS (
            SELECT customer_id, cutoff_at, count(*) AS categories_bought_total,
                count(*) FILTER (WHERE purchases_{w}d > 0) AS categories_bought_90d,
                max(spend_total) / nullif(max(customer_spend), 0) AS top_category_spend_share,
                sum(power(spend_total / nullif(customer_spend, 0), 2))
                    AS category_concentration_hhi,
                count(*) FILTER (WHERE purchases_prev_{w}d > 0 AND purchases_{w}d = 0)
                    AS categories_dropped_90d,
                {tops}
            FROM pc GROUP BY customer_id, cutoff_at
        ), prod AS (
            SELECT c.cutoff_at, l.customer_id, count(DISTINCT l.product_id) AS products_total,
                count(DISTINCT l.product_id) FILTER (
                    WHERE {days_between("c.cutoff_at", "l.ordered_at")} <= 90) AS products_90d
            FROM {cutoffs} c JOIN {lines} l ON l.ordered_at < c.cutoff_at
            WHERE coalesce(l.quantity, 1) > 0 AND l.status IS DISTINCT FROM '{CANCELLED_STATUS}'
                AND l.status IS DISTINCT FROM '{RETURNED_STATUS}'
            GROUP BY l.customer_id, c.cutoff_at
        )
        SELECT * FROM cat FULL JOIN prod USING (customer_id, cutoff_at)
        """
    )


def category_pairs(
    con: duckdb.DuckDBPyConnection,
    cutoffs: str,
    events: str,
    min_purchases: int,
    max_per_customer: int,
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, category, cutoff_at) with at least `min_purchases` purchases of the
    category before the cutoff, the customer's `max_per_customer` top ones: the pair's rhythm
    (purchases, spend, recency, gaps) and its share of the customer's spend, plus the
    customer's purchase days in any category (their visits) for the pair model."""
    return con.sql(
        f"""
        WITH pc AS ({_per_category(cutoffs, events)}),
        visits AS (
            SELECT e.customer_id, c.cutoff_at,
                count(DISTINCT e.order_id) AS customer_orders_total,
                min({days_between("c.cutoff_at", "e.ordered_at")}) AS customer_days_since_order,
                max({days_between("c.cutoff_at", "e.ordered_at")}) AS customer_tenure_days
            FROM {cutoffs} c JOIN {events} e ON e.ordered_at < c.cutoff_at AND e.purchase
            GROUP BY e.customer_id, c.cutoff_at
        )
        SELECT pc.customer_id, pc.category, pc.cutoff_at, purchases_total, spend_total,
            spend_total / purchases_total AS spend_per_purchase,
            spend_total / nullif(customer_spend, 0) AS spend_share,
            days_since_purchase, purchases_{DROPPED_WINDOW_DAYS}d AS purchases_90d,
            median_gap_days, std_gap_days, last_gap_days,
            days_since_purchase / nullif(median_gap_days, 0) AS overdue_ratio,
            list_extract(ages, -1) AS first_purchase_days, category_rank,
            customer_orders_total, customer_days_since_order, customer_tenure_days,
            purchases_total / customer_orders_total AS share_of_orders
        FROM pc JOIN visits USING (customer_id, cutoff_at)
        WHERE purchases_total >= {int(min_purchases)} AND category_rank <= {int(max_per_customer)}
        """
    )


def next_purchases(
    con: duckdb.DuckDBPyConnection, pairs: str, events: str
) -> duckdb.DuckDBPyRelation:
    """Per pair row of `pairs`: days from its cutoff to the next purchase of the category
    (NULL when none is seen in the data: censored, never made up)."""
    return con.sql(
        f"""
        SELECT p.customer_id, p.category, p.cutoff_at,
            min({days_between("e.ordered_at", "p.cutoff_at")}) AS days_to_next_purchase
        FROM {pairs} p LEFT JOIN {events} e
            ON e.customer_id = p.customer_id AND e.category = p.category AND e.purchase
            AND e.ordered_at >= p.cutoff_at
        GROUP BY p.customer_id, p.category, p.cutoff_at
        """
    )
