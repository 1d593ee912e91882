"""Outcomes after a cutoff: churn within the horizon and (censored) days to next order; what
a customer did in a campaign's window (ordered, spend net of refunds).

Each rule is SQL, defined once: `net_spend_sql` is what an order adds to spend net of refunds,
`window_outcomes_sql` a window's outcome per customer. Frames (a generated world's orders)
get the same rule through DuckDB (`window_outcomes`), never a pandas twin.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from features.orders import amounts_known, no_spend
from features.schema import COMPLETED_STATUS, RETURNED_STATUS
from features.sql import days_between


def labels(
    con: duckdb.DuckDBPyConnection,
    data_end: pd.Timestamp,
    horizon_days: int,
    population: str,
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at) of `population`: churned, days_to_next_order, censoring.

    Only completed orders in [cutoff, data_end) are looked at. `churned` is NULL where the
    horizon runs past `data_end` (unknown, not 'no'). When no next order is seen,
    `days_to_next_order` is the observed time `data_end - cutoff` and
    `next_order_censored` is true: never a made-up event time. `spend_next_horizon` is the
    spend in [cutoff, cutoff + horizon) net of what was returned or credited in it (never
    below 0; NULL when that runs past `data_end`).
    """
    end = pd.Timestamp(data_end).isoformat(sep=" ")
    end_at = f"TIMESTAMP '{end}'"
    return con.sql(
        f"""
        WITH nxt AS (
            SELECT p.customer_id, p.cutoff_at,
                   min({days_between("o.ordered_at", "p.cutoff_at")})
                       FILTER (WHERE o.status = '{COMPLETED_STATUS}') AS next_days,
                   greatest(coalesce(sum({net_spend_sql("o")}) FILTER (
                       WHERE o.ordered_at < p.cutoff_at + INTERVAL {horizon_days} DAY),
                       {no_spend(amounts_known(con))}), 0) AS spend
            FROM {population} p
            LEFT JOIN orders o
              ON o.customer_id = p.customer_id
             AND o.ordered_at >= p.cutoff_at
             AND o.ordered_at < TIMESTAMP '{end}'
             AND o.status IN ('{COMPLETED_STATUS}', '{RETURNED_STATUS}')
            GROUP BY p.customer_id, p.cutoff_at
        )
        SELECT customer_id, cutoff_at,
            CASE WHEN cutoff_at + INTERVAL {horizon_days} DAY > TIMESTAMP '{end}' THEN NULL
                 WHEN next_days < {horizon_days} THEN 0 ELSE 1 END AS churned,
            coalesce(next_days, {days_between(end_at, "cutoff_at")})
                AS days_to_next_order,
            next_days IS NULL AS next_order_censored,
            CASE WHEN cutoff_at + INTERVAL {horizon_days} DAY > TIMESTAMP '{end}' THEN NULL
                 ELSE spend END AS spend_next_horizon
        FROM nxt
        """
    )


def net_spend_sql(orders: str) -> str:
    """What an order (of the relation aliased `orders`) adds to spend net of refunds: a
    completed order its amount, a returned or credited one minus its amount, others nothing."""
    return (
        f"CASE {orders}.status WHEN '{COMPLETED_STATUS}' THEN {orders}.amount "
        f"WHEN '{RETURNED_STATUS}' THEN -{orders}.amount ELSE 0 END"
    )


def window_outcomes_sql(
    customers: str, since: pd.Timestamp, until: pd.Timestamp, orders: str = "orders"
) -> str:
    """SQL: per distinct customer_id of the relation `customers`, `ordered` (a completed order
    in [since, until)) and `spend_net` in that window, net of what was returned or credited in
    it (never below 0; 0 without orders)."""
    start, end = (pd.Timestamp(t).isoformat(sep=" ") for t in (since, until))
    return f"""
        SELECT c.customer_id,
               coalesce(bool_or(o.status = '{COMPLETED_STATUS}'), false) AS ordered,
               greatest(coalesce(sum({net_spend_sql("o")}), 0), 0)::DOUBLE AS spend_net
        FROM (SELECT DISTINCT customer_id FROM {customers}) c
        LEFT JOIN {orders} o
          ON o.customer_id = c.customer_id
         AND o.ordered_at >= TIMESTAMP '{start}' AND o.ordered_at < TIMESTAMP '{end}'
        GROUP BY c.customer_id
    """


def window_outcomes(
    orders: pd.DataFrame, customer_ids: pd.Series, since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """`window_outcomes_sql` over frames: per entry of `customer_ids` (in their order),
    `ordered` and `revenue` (the window's spend net of refunds)."""
    con = duckdb.connect()
    try:
        con.register("_orders", orders[["customer_id", "ordered_at", "amount", "status"]])
        ids = pd.DataFrame({"customer_id": customer_ids.astype(str).to_numpy()})
        con.register("_ids", ids.assign(_at=np.arange(len(ids))))
        return con.execute(
            "SELECT i.customer_id, w.spend_net AS revenue, w.ordered FROM _ids i "
            f"JOIN ({window_outcomes_sql('_ids', since, until, '_orders')}) w USING (customer_id) "
            "ORDER BY i._at"
        ).df()
    finally:
        con.close()
