"""Outcomes after a cutoff: churn within the horizon and (censored) days to next order."""

from __future__ import annotations

import duckdb
import pandas as pd

from features.orders import amounts_known, no_spend
from features.schema import COMPLETED_STATUS
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
    completed spend in [cutoff, cutoff + horizon) (NULL when that runs past `data_end`).
    """
    end = pd.Timestamp(data_end).isoformat(sep=" ")
    end_at = f"TIMESTAMP '{end}'"
    return con.sql(
        f"""
        WITH nxt AS (
            SELECT p.customer_id, p.cutoff_at,
                   min({days_between("o.ordered_at", "p.cutoff_at")}) AS next_days,
                   coalesce(sum(o.amount) FILTER (
                       WHERE o.ordered_at < p.cutoff_at + INTERVAL {horizon_days} DAY),
                       {no_spend(amounts_known(con))}) AS spend
            FROM {population} p
            LEFT JOIN orders o
              ON o.customer_id = p.customer_id
             AND o.ordered_at >= p.cutoff_at
             AND o.ordered_at < TIMESTAMP '{end}'
             AND o.status = '{COMPLETED_STATUS}'
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


def window_outcomes(
    orders: pd.DataFrame, customer_ids: pd.Series, since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """Per customer: ordered (a completed order in [since, until)) and revenue in that window."""
    window = orders[
        (orders["status"] == COMPLETED_STATUS)
        & (orders["ordered_at"] >= since)
        & (orders["ordered_at"] < until)
    ]
    revenue = window.groupby("customer_id")["amount"].sum()
    out = pd.DataFrame({"customer_id": customer_ids.astype(str).to_numpy()})
    out["revenue"] = out["customer_id"].map(revenue).fillna(0.0)
    out["ordered"] = out["customer_id"].isin(revenue.index)
    return out
