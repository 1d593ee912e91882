"""Complaint history at a cutoff: volume, recency, severity, satisfaction, what is unresolved."""

from __future__ import annotations

import duckdb

from features.schema import COMPLAINT_WINDOWS_DAYS
from features.sql import days_between

_RESOLVED = "k.resolved_at < c.cutoff_at"  # a resolution is known only once it happened


def _window_counts() -> str:
    """complaints_{w}d: complaints opened in [cutoff - w days, cutoff)."""
    return ",\n            ".join(
        f"count(*) FILTER (WHERE k.opened_at >= c.cutoff_at - INTERVAL {w} DAY) AS complaints_{w}d"
        for w in COMPLAINT_WINDOWS_DAYS
    )


def complaint_features(
    con: duckdb.DuckDBPyConnection, cutoffs: str, complaints: str = "complaints"
) -> duckdb.DuckDBPyRelation:
    """Per (customer_id, cutoff_at): complaints opened before the cutoff.

    A complaint is open at the cutoff unless it was resolved before it; later resolutions
    (and the satisfaction surveyed after them) are unknown at scoring time and must not
    leak in. Customers without complaints get no row here (the frame fills counts with 0).
    """
    return con.sql(
        f"""
        SELECT k.customer_id, c.cutoff_at,
            {_window_counts()},
            count(*) AS complaints_total,
            count(*) FILTER (WHERE NOT coalesce({_RESOLVED}, false)) AS open_complaints,
            min({days_between("c.cutoff_at", "k.opened_at")}) AS days_since_last_complaint,
            avg({days_between("k.resolved_at", "k.opened_at")}) FILTER (WHERE {_RESOLVED})
                AS mean_resolution_days,
            max(k.severity) AS max_severity,
            avg(k.severity) AS mean_severity,
            avg(k.satisfaction) FILTER (WHERE {_RESOLVED}) AS mean_satisfaction
        FROM {cutoffs} c
        JOIN {complaints} k ON k.opened_at < c.cutoff_at
        GROUP BY k.customer_id, c.cutoff_at
        """
    )
