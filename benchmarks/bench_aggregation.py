"""What one DuckDB aggregation over a million customers costs, by number of aggregates.

Why the feature catalogue sits at ~5x the floor (issue 4): the floor computes 3 aggregates per
customer; the catalogue needs ~20 plus a list of order ages for the gap statistics. This
prints, side by side in one run on the same orders, the floor and the same grouping with
k aggregates (alternating filtered counts and sums, the catalogue's mix) and with the list,
each as a ratio to the floor; then the same on the orders held in memory in time order (as
exports and the generator write them) and clustered by customer, with what the clustering
sort itself costs; last, recency, totals, gap statistics and the four windows read from a
per-customer running state prepared once per data load (issue 4's option (a)), with what
preparing it costs.

Run: .venv/bin/python benchmarks/bench_aggregation.py [--base 1000000] [--repeat 3]
(the issue's shape: 1M customers, ~10M orders; data cached by benchmarks/data.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from data import generated_base

from pipelines.warehouse import connect

CUTOFF = "TIMESTAMP '2025-12-01'"
AGE_DAYS = f"epoch({CUTOFF} - ordered_at) / 86400.0"


def floor_sql(source: str) -> str:
    return (
        f"SELECT customer_id, min({AGE_DAYS}) AS days_since_last_order, count(*) AS n, "
        f"sum(amount) AS spend FROM {source} WHERE ordered_at < {CUTOFF} GROUP BY customer_id"
    )


def aggregates_sql(source: str, k: int) -> str:
    """k aggregates like the catalogue's: a count and a sum per window, in turn."""
    parts = [
        f"count(*) FILTER (WHERE {AGE_DAYS} <= {30 * (i + 1)}) AS a{i}"
        if i % 2 == 0
        else f"sum(amount) FILTER (WHERE {AGE_DAYS} <= {30 * (i + 1)}) AS a{i}"
        for i in range(k)
    ]
    return (
        f"SELECT customer_id, {', '.join(parts)} FROM {source} "
        f"WHERE ordered_at < {CUTOFF} GROUP BY customer_id"
    )


def list_sql(source: str) -> str:
    return (
        f"SELECT customer_id, list({AGE_DAYS}) AS ages FROM {source} "
        f"WHERE ordered_at < {CUTOFF} GROUP BY customer_id"
    )


def prepare_state_sql(source: str) -> list[str]:
    """Option (a) of issue 4: a per-customer running state kept per completed order, built
    once per data load (its gap statistics need a second pass: the running median)."""
    running = "PARTITION BY customer_id ORDER BY ordered_at ROWS UNBOUNDED PRECEDING"
    return [
        f"""CREATE TEMP TABLE state0 AS SELECT customer_id, ordered_at,
            lead(ordered_at) OVER w AS next_at, count(*) OVER w AS orders_cum,
            sum(amount) OVER w AS spend_cum, max(amount) OVER w AS max_order_value,
            first_value(ordered_at) OVER w AS first_at,
            epoch(ordered_at - lag(ordered_at) OVER w) / 86400.0 AS gap_days
        FROM {source} WHERE status = 'completed' WINDOW w AS ({running})""",
        f"""CREATE TEMP TABLE state AS SELECT *, median(gap_days) OVER w AS median_gap_days,
            stddev_samp(gap_days) OVER w AS std_gap_days FROM state0 WINDOW w AS ({running})""",
    ]


def state_at_cutoff_sql() -> str:
    """Recency, totals, gap statistics and the four windows at the cutoff, from the state:
    each customer's last order before a time is the one row whose next order is not before
    it, so every window is a filter and a join, not an aggregation."""

    def last_before(at: str) -> str:
        return f"FROM state WHERE ordered_at < {at} AND (next_at IS NULL OR next_at >= {at})"

    windows = (30, 90, 180, 365)
    ctes = [
        f"w{d} AS (SELECT customer_id, orders_cum AS n{d}, spend_cum AS s{d} "
        + last_before(f"({CUTOFF} - INTERVAL {d} DAY)")
        + ")"
        for d in windows
    ]
    columns = [
        f"now.orders_cum - coalesce(n{d}, 0) AS orders_{d}d, now.spend_cum - coalesce(s{d}, 0) AS spend_{d}d"
        for d in windows
    ]
    joins = " ".join(f"LEFT JOIN w{d} USING (customer_id)" for d in windows)
    return (
        f"WITH now AS (SELECT * {last_before(CUTOFF)}), {', '.join(ctes)} "
        f"SELECT now.*, epoch({CUTOFF} - now.ordered_at) / 86400.0 AS days_since_last_order, "
        f"{', '.join(columns)} FROM now {joins}"
    )


def best_seconds(con: duckdb.DuckDBPyConnection, sql: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE result AS {sql}")
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=int, default=1_000_000, help="customers (~10 orders each)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = generated_base(args.base)
    con = connect()
    con.execute("SET preserve_insertion_order = false")
    parquet = f"read_parquet('{folder}/orders/*.parquet')"
    print(f"{'orders':<40} {'query':<26} {'seconds':>8} {'x floor':>8}")

    def report(label: str, where: str, queries: dict[str, str]) -> None:
        floor = best_seconds(con, floor_sql(where), args.repeat)
        print(f"{label:<40} {'floor (3 aggregates)':<26} {floor:>8.2f} {1:>8.2f}", flush=True)
        for name, sql in queries.items():
            seconds = best_seconds(con, sql, args.repeat)
            print(f"{label:<40} {name:<26} {seconds:>8.2f} {seconds / floor:>8.2f}", flush=True)

    report(
        "Parquet, time order",
        parquet,
        {f"{k} aggregates": aggregates_sql(parquet, k) for k in (10, 20, 30)}
        | {"list of ages": list_sql(parquet)},
    )
    con.execute(f"CREATE TEMP TABLE by_time AS FROM {parquet}")
    report(
        "in memory, time order",
        "by_time",
        {"20 aggregates": aggregates_sql("by_time", 20), "list of ages": list_sql("by_time")},
    )
    con.execute("SET preserve_insertion_order = true")
    start = time.perf_counter()
    con.execute("CREATE TEMP TABLE by_customer AS FROM by_time ORDER BY customer_id, ordered_at")
    sort_seconds = time.perf_counter() - start
    con.execute("SET preserve_insertion_order = false")
    report(
        f"in memory, by customer (sort {sort_seconds:.2f} s)",
        "by_customer",
        {
            "20 aggregates": aggregates_sql("by_customer", 20),
            "list of ages": list_sql("by_customer"),
        },
    )
    start = time.perf_counter()
    for statement in prepare_state_sql("by_time"):
        con.execute(statement)
    prepare_seconds = time.perf_counter() - start
    report(
        f"in memory, prepared state (built {prepare_seconds:.2f} s)",
        "by_time",
        {"state at the cutoff": state_at_cutoff_sql()},
    )


if __name__ == "__main__":
    main()
