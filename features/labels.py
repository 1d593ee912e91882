"""Outcomes after a cutoff: churn within the horizon and (censored) days to next order."""

from __future__ import annotations

import duckdb
import pandas as pd

_DAYS = "86400.0"


def labels(
    con: duckdb.DuckDBPyConnection,
    data_end: pd.Timestamp,
    horizon_days: int,
    population: str = "population",
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at) of `population`: churned, days_to_next_order, censoring.

    Only completed orders in [cutoff, data_end) are looked at. `churned` is NULL where the
    horizon runs past `data_end` (unknown, not 'no'). When no next order is seen,
    `days_to_next_order` is the observed time `data_end - cutoff` and
    `next_order_censored` is true: never a made-up event time. `spend_next_horizon` is the
    completed spend in [cutoff, cutoff + horizon) (NULL when that runs past `data_end`).
    """
    end = pd.Timestamp(data_end).isoformat(sep=" ")
    return con.sql(
        f"""
        WITH nxt AS (
            SELECT p.customer_id, p.cutoff_at,
                   min(epoch(o.ordered_at - p.cutoff_at)) / {_DAYS} AS next_days,
                   coalesce(sum(o.amount) FILTER (
                       WHERE o.ordered_at < p.cutoff_at + INTERVAL ({horizon_days}) DAY), 0) AS spend
            FROM {population} p
            LEFT JOIN orders o
              ON o.customer_id = p.customer_id
             AND o.ordered_at >= p.cutoff_at
             AND o.ordered_at < TIMESTAMP '{end}'
             AND o.status = 'completed'
            GROUP BY p.customer_id, p.cutoff_at
        )
        SELECT customer_id, cutoff_at,
            CASE WHEN cutoff_at + INTERVAL ({horizon_days}) DAY > TIMESTAMP '{end}' THEN NULL
                 WHEN next_days < {horizon_days} THEN 0 ELSE 1 END AS churned,
            coalesce(next_days, epoch(TIMESTAMP '{end}' - cutoff_at) / {_DAYS})
                AS days_to_next_order,
            next_days IS NULL AS next_order_censored,
            CASE WHEN cutoff_at + INTERVAL ({horizon_days}) DAY > TIMESTAMP '{end}' THEN NULL
                 ELSE spend END AS spend_next_horizon
        FROM nxt
        """
    )
