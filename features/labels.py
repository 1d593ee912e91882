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


def window_outcomes_sql(since: pd.Timestamp, until: pd.Timestamp, orders: str = "orders") -> str:
    """SQL: per customer_id with an order of any status in [since, until), `ordered` (a
    completed one) and `spend_net`, the window's spend net of what was returned or credited
    in it (never below 0). Customers without an order there are absent: a caller joins with
    `filled_outcomes_sql`. Grouping the window's orders, never the customers asked about,
    keeps it within the memory limit when ten million are asked (only the window spills)."""
    start, end = (pd.Timestamp(t).isoformat(sep=" ") for t in (since, until))
    return f"""
        SELECT o.customer_id,
               bool_or(o.status = '{COMPLETED_STATUS}') AS ordered,
               greatest(coalesce(sum({net_spend_sql("o")}), 0), 0)::DOUBLE AS spend_net
        FROM {orders} o
        WHERE o.ordered_at >= TIMESTAMP '{start}' AND o.ordered_at < TIMESTAMP '{end}'
        GROUP BY o.customer_id
    """


def filled_outcomes_sql(alias: str) -> str:
    """The outcome columns of a LEFT JOIN to `window_outcomes_sql` as `alias`: a customer
    without an order in the window did not order and spent 0."""
    return (
        f"coalesce({alias}.spend_net, 0)::DOUBLE AS spend_net, "
        f"coalesce({alias}.ordered, false) AS ordered"
    )


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
        outcomes = window_outcomes_sql(since, until, "_orders")
        return (
            con.execute(
                f"SELECT i.customer_id, {filled_outcomes_sql('w')} FROM _ids i "
                f"LEFT JOIN ({outcomes}) w USING (customer_id) ORDER BY i._at"
            )
            .df()
            .rename(columns={"spend_net": "revenue"})
        )
    finally:
        con.close()
