"""Outcomes after a cutoff: churn within the horizon and (censored) days to next order."""

from __future__ import annotations

import duckdb
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
                   greatest(coalesce(sum(CASE o.status WHEN '{COMPLETED_STATUS}' THEN o.amount
                       ELSE -o.amount END) FILTER (
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


def window_outcomes(
    orders: pd.DataFrame, customer_ids: pd.Series, since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """Per customer: ordered (a completed order in [since, until)) and revenue in that window,
    net of what was returned or credited in it (never below 0)."""
    window = orders[(orders["ordered_at"] >= since) & (orders["ordered_at"] < until)]
    done = window["status"] == COMPLETED_STATUS
    sign = done.astype(float) - (window["status"] == RETURNED_STATUS).astype(float)
    net = (window["amount"] * sign).groupby(window["customer_id"]).sum().clip(lower=0)
    buyers = set(window.loc[done, "customer_id"])
    out = pd.DataFrame({"customer_id": customer_ids.astype(str).to_numpy()})
    out["revenue"] = out["customer_id"].map(net).fillna(0.0)
    out["ordered"] = out["customer_id"].isin(buyers)
    return out
