"""Orders from order lines: the one definition of what an order is when a source gives lines.

An order is its `order_id`'s lines: its time is the earliest line's, its amount the sum of
the line amounts (`line_amount`, else quantity x unit_price; NULL without prices), its
category and channel those of its lines (the first by name when they differ). A returned
line (negative quantity, or any line of a credit note: an order id matching the settings'
`credit_note_pattern`, or status returned) belongs to a return order with a positive amount,
counted by the returns features and never as a purchase. An order with both sold and returned
lines becomes two orders, `<order_id>/completed` and `<order_id>/returned`.
"""

from __future__ import annotations

import duckdb

from features.categories import returned_line_sql
from features.schema import RETURNED_STATUS

PARTS = "_order_parts"  # the lines grouped by order and status, while orders are derived


def derive_orders(
    con: duckdb.DuckDBPyConnection,
    credit_note_pattern: str | None,
    into: str,
    lines: str = "order_lines",
) -> None:
    """Table `into`: one row per order (columns of the orders contract) from validated order
    lines, by time. The lines grouped by order and status go to a temporary table first,
    read twice (the parts, and the orders with two statuses): as one statement's shared
    relation, DuckDB held them in memory and a 76M-line export did not fit 2 GB."""
    status = (
        f"CASE WHEN {returned_line_sql(credit_note_pattern)} THEN '{RETURNED_STATUS}' "
        "ELSE status END"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PARTS} AS
        SELECT order_id, {status} AS line_status, min(customer_id) AS customer_id,
            min(ordered_at) AS ordered_at,
            sum(abs(coalesce(line_amount, quantity * unit_price))) AS amount,
            min(channel) AS channel, min(category) AS category,
            sum(discount_amount) AS discount_amount
        FROM {lines} GROUP BY ALL
        """
    )
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {into} AS
            WITH split AS (  -- orders with lines of two statuses
                SELECT order_id FROM {PARTS} GROUP BY order_id HAVING count(*) > 1
            )
            SELECT CASE WHEN split.order_id IS NOT NULL
                        THEN g.order_id || '/' || line_status ELSE g.order_id END AS order_id,
                customer_id, ordered_at, amount, line_status AS status, channel, category,
                discount_amount
            FROM {PARTS} g LEFT JOIN split ON g.order_id = split.order_id
            ORDER BY ordered_at, order_id
            """
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {PARTS}")
