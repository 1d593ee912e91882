"""Complaint history at a cutoff: volume, recency and what is still unresolved."""

from __future__ import annotations

import duckdb

_DAYS = "86400.0"


def complaint_features(
    con: duckdb.DuckDBPyConnection, cutoffs: str = "cutoffs"
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at): complaints opened before the cutoff.

    A complaint is open at the cutoff unless it was resolved before it; later
    resolutions are unknown at scoring time and must not leak in.
    Customers without complaints get no row here (the frame fills counts with 0).
    """
    return con.sql(
        f"""
        SELECT k.customer_id, c.cutoff_at,
            count(*) FILTER (WHERE k.opened_at >= c.cutoff_at - INTERVAL 90 DAY)
                AS complaints_90d,
            count(*) AS complaints_total,
            count(*) FILTER (WHERE k.resolved_at IS NULL OR k.resolved_at >= c.cutoff_at)
                AS open_complaints,
            min(epoch(c.cutoff_at - k.opened_at)) / {_DAYS} AS days_since_last_complaint
        FROM {cutoffs} c
        JOIN complaints k ON k.opened_at < c.cutoff_at
        GROUP BY k.customer_id, c.cutoff_at
        """
    )
