"""Data-quality profile of validated tables: shape of the data and suspicious patterns."""

from __future__ import annotations

import html
from typing import Any

import duckdb
import pandas as pd

from features.schema import COMPLETED_STATUS
from features.sql import days_between
from pipelines.warehouse import first_row

OUTLIER_FACTOR = 10  # an amount over 10x the 99th percentile is worth a look
BURST_MIN_ROWS = 3  # identical customer, minute and amount on this many orders


def _orders(con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp) -> dict[str, Any]:
    first, last, orders, completed, customers, repeat, future, ancient = first_row(
        con,
        f"""
        WITH per AS (SELECT customer_id, count(*) AS n FROM orders
                     WHERE status = '{COMPLETED_STATUS}' GROUP BY customer_id)
        SELECT (SELECT min(ordered_at) FROM orders), (SELECT max(ordered_at) FROM orders),
               (SELECT count(*) FROM orders), (SELECT coalesce(sum(n), 0) FROM per),
               (SELECT count(*) FROM per),
               (SELECT count(*) FILTER (WHERE n > 1) FROM per),
               (SELECT count(*) FROM orders WHERE ordered_at > ?),
               (SELECT count(*) FROM orders WHERE ordered_at < TIMESTAMP '1990-01-01')
        """,
        [as_of],
    )
    p50, p99, top, zero = first_row(
        con,
        "SELECT quantile_cont(amount, 0.5), quantile_cont(amount, 0.99), max(amount), "
        f"count(*) FILTER (WHERE amount = 0) FROM orders WHERE status = '{COMPLETED_STATUS}'",
    )
    outliers = first_row(
        con, "SELECT count(*) FROM orders WHERE amount > ? * ?", [OUTLIER_FACTOR, p99 or 0]
    )[0]
    burst_rows = first_row(
        con,
        f"""SELECT coalesce(sum(n), 0) FROM (
              SELECT count(*) AS n FROM orders
              GROUP BY customer_id, date_trunc('minute', ordered_at), amount
              HAVING count(*) >= {BURST_MIN_ROWS})""",
    )[0]
    statuses = dict(
        con.execute("SELECT status, count(*) FROM orders GROUP BY 1 ORDER BY 1").fetchall()
    )
    return {
        "first_ordered_at": str(first) if first else None,
        "last_ordered_at": str(last) if last else None,
        "orders": orders,
        "customers": customers,
        "completed_orders": int(completed),
        # completed orders of the customers who have one; returns and cancellations are in
        # status_counts, apart
        "orders_per_customer": round(completed / customers, 3) if customers else None,
        "repeat_customer_share": round(repeat / customers, 4) if customers else None,
        "status_counts": statuses,
        "amount_median": p50,
        "amount_p99": p99,
        "amount_max": top,
        "suspicious": {
            "future_dates": future,
            "dates_before_1990": ancient,
            "zero_amounts": zero,
            "amounts_over_10x_p99": outliers,
            "burst_rows": int(burst_rows),
        },
    }


def _complaints(
    con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp, customers: int
) -> dict[str, Any]:
    count, complainers, still_open, resolution, future = first_row(
        con,
        "SELECT count(*), count(DISTINCT customer_id), count(*) FILTER (WHERE resolved_at IS NULL), "
        f"median({days_between('resolved_at', 'opened_at')}), "
        "count(*) FILTER (WHERE opened_at > ?) "
        "FROM complaints",
        [as_of],
    )
    return {
        "complaints": count,
        "complaints_per_customer": round(count / customers, 4) if customers else None,
        "customers_with_complaints": complainers,
        "open_share": round(still_open / count, 4) if count else None,
        "median_resolution_days": resolution,
        "suspicious": {"future_dates": future},
    }


def warnings(profile: dict[str, Any]) -> list[str]:
    """Plain sentences for the suspicious counts that are not zero."""
    texts = {
        "future_dates": "{n:,} {table} dated after {checked}",
        "dates_before_1990": "{n:,} {table} dated before 1990",
        "zero_amounts": "{n:,} completed {table} with amount 0",
        "amounts_over_10x_p99": "{n:,} {table} with an amount over 10x the 99th percentile",
        "burst_rows": "{n:,} {table} in bursts (same customer, minute and amount, 3 or more)",
    }
    out = []
    for table in ("orders", "complaints"):
        for key, n in profile[table]["suspicious"].items():
            if n:
                out.append(texts[key].format(n=n, table=table, checked=profile["future_after"]))
    return out


def profile_tables(
    con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp | None, run_date: pd.Timestamp
) -> dict[str, Any]:
    """Profile of the validated `orders` and `complaints` in `con`. `as_of` is the data's
    (the user's --as-of, else the last order's day); `run_date` is when the check ran. Dates
    after the as-of given, else after the run date, are in the future."""
    future_after = as_of if as_of is not None else run_date
    orders = _orders(con, future_after)
    last = orders["last_ordered_at"]
    data_as_of = as_of if as_of is not None else pd.Timestamp(last) if last else None
    result: dict[str, Any] = {
        "as_of": data_as_of.date().isoformat() if data_as_of is not None else None,
        "run_date": run_date.date().isoformat(),
        "future_after": future_after.date().isoformat(),
        "orders": orders,
        "complaints": _complaints(con, future_after, orders["customers"]),
    }
    result["warnings"] = warnings(result)
    return result


def to_html(report: dict[str, Any]) -> str:
    """A self-contained page of the validation report, for people who would rather look."""
    sections = []
    for table, body in report["tables"].items():
        rows = (
            "".join(
                f"<tr><td>{html.escape(str(k))}</td><td>{v:,}</td></tr>"
                for k, v in body["set_aside_by_reason"].items()
            )
            or "<tr><td colspan=2>nothing set aside</td></tr>"
        )
        sections.append(
            f"<h2>{html.escape(table)}</h2><p>{html.escape(body['source'])}</p>"
            f"<p><b>rows read {body['read']:,}</b> = used {body['used']:,} + set aside {body['set_aside']:,}</p>"
            f"<table><tr><th>reason set aside</th><th>rows</th></tr>{rows}</table>"
        )
    profile = report.get("profile", {})
    facts = "".join(
        f"<tr><td>{html.escape(t)}.{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for t in ("orders", "complaints")
        for k, v in profile.get(t, {}).items()
        if k != "suspicious"
    )
    warns = (
        "".join(f"<li>{html.escape(w)}</li>" for w in profile.get("warnings", []))
        or "<li>none</li>"
    )
    style = "body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}table{border-collapse:collapse}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>retain data quality</title>"
        f"<style>{style}</style></head><body><h1>Data quality</h1>{''.join(sections)}"
        f"<h2>Profile</h2><table>{facts}</table><h2>Warnings</h2><ul>{warns}</ul></body></html>"
    )
