"""The full feature catalogue at one cutoff vs the floor and vs lifetimes, on generated data.

- floor: a bare DuckDB query computing only recency, order count and spend per customer on
  the same Parquet, into a DuckDB table (target: the catalogue within 3x of it);
- catalogue: every feature of docs/FEATURES.md for the population at the cutoff, into a
  DuckDB table as well (`feature_relation`, what `retain features` writes); the pandas frame
  the models train on (`build_frame`) is timed apart;
- lifetimes: `summary_data_from_transaction_data` (frequency, recency, T, monetary value) on
  the same orders in pandas (target: the catalogue at least 10x faster).

Run: .venv/bin/python benchmarks/bench_features.py --orders 1000000 10000000 50000000
     .venv/bin/python benchmarks/bench_features.py --base 50000000   (50M customers, ~500M orders)
(each size runs in its own process, so peak memory is per size).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from data import DATA, generated, generated_base, views

from features.frame import build_frame, feature_relation
from pipelines.settings import Settings
from pipelines.warehouse import connect, scalar

CUTOFF = pd.Timestamp("2025-12-01")
PART_ROWS = Settings().frame_part_rows  # passes as `retain features` makes them


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    rows = fn()
    return time.perf_counter() - start, rows


def floor(folder: Path) -> int:
    con = connect()
    con.execute(
        f"""CREATE TABLE f AS SELECT customer_id,
            min(epoch(TIMESTAMP '{CUTOFF}' - ordered_at)) / 86400.0 AS days_since_last_order,
            count(*) AS orders_total, sum(amount) AS spend_total
        FROM read_parquet('{folder}/orders/*.parquet')
        WHERE status = 'completed' AND ordered_at < TIMESTAMP '{CUTOFF}'
        GROUP BY customer_id"""
    )
    return int(con.execute("SELECT count(*) FROM f").fetchall()[0][0])


MEMORY_LIMIT: str | None = None  # --memory-limit: DuckDB's, to watch it spill


def _catalogue_connection(folder: Path) -> duckdb.DuckDBPyConnection:
    con = connect()
    con.execute("SET preserve_insertion_order = false")
    if MEMORY_LIMIT:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = '{DATA / 'spill'}'")  # the 500M-order base spills
    views(con, folder)
    return con


def catalogue(folder: Path) -> int:
    con = _catalogue_connection(folder)
    rel = feature_relation(
        con, [CUTOFF], 365, rows_per_pass=PART_ROWS
    )  # materialises the population's temp table
    return int(rel.shape[0])


def catalogue_pandas(folder: Path) -> int:
    return len(build_frame(_catalogue_connection(folder), [CUTOFF], 365, rows_per_pass=PART_ROWS))


def lifetimes_seconds(folder: Path) -> float:
    """Seconds of the summary call alone (reading the Parquet into pandas is not counted)."""
    from lifetimes.utils import summary_data_from_transaction_data

    orders = pd.read_parquet(
        f"{folder}/orders", columns=["customer_id", "ordered_at", "amount", "status"]
    )
    orders = orders[(orders["status"] == "completed") & (orders["ordered_at"] < CUTOFF)]
    start = time.perf_counter()
    summary = summary_data_from_transaction_data(
        orders,
        "customer_id",
        "ordered_at",
        monetary_value_col="amount",
        observation_period_end=CUTOFF,
    )
    assert len(summary) > 0
    return time.perf_counter() - start


def one_size(folder: Path, with_lifetimes: bool, with_pandas: bool) -> dict[str, float]:
    result: dict[str, float] = {"orders": orders_in(folder)}
    result["floor_s"], result["floor_rows"] = timed(lambda: floor(folder))
    result["catalogue_s"], result["catalogue_rows"] = timed(lambda: catalogue(folder))
    if with_pandas:
        result["pandas_s"], _ = timed(lambda: catalogue_pandas(folder))
    if with_lifetimes:
        result["lifetimes_s"] = lifetimes_seconds(folder)
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return result


def orders_in(folder: Path) -> int:
    return int(scalar(connect(), f"SELECT count(*) FROM read_parquet('{folder}/orders/*.parquet')"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--base", type=int, nargs="*", default=[], help="customers (10 orders each)"
    )
    parser.add_argument("--lifetimes-up-to", type=int, default=10_000_000)
    parser.add_argument("--pandas-up-to", type=int, default=50_000_000)
    parser.add_argument("--memory-limit", help="DuckDB memory limit for the catalogue, e.g. 3GB")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global MEMORY_LIMIT
    MEMORY_LIMIT = args.memory_limit
    if args.one:
        kind, size = args.one.split(":")
        folder = generated(int(size)) if kind == "orders" else generated_base(int(size))
        n = int(size) if kind == "orders" else int(size) * 10
        print(json.dumps(one_size(folder, n <= args.lifetimes_up_to, n <= args.pandas_up_to)))
        return
    print(
        f"{'orders':>12} {'customers':>11} {'floor s':>8} {'catalogue s':>12} {'x floor':>8} "
        f"{'frame s':>10} {'lifetimes s':>12} {'lifetimes/cat':>13} {'peak GB':>8}"
    )
    for one in [f"orders:{n}" for n in args.orders] + [f"base:{n}" for n in args.base]:
        cmd = [
            sys.executable,
            __file__,
            "--one",
            one,
            "--lifetimes-up-to",
            str(args.lifetimes_up_to),
        ]
        cmd += ["--pandas-up-to", str(args.pandas_up_to)]
        cmd += ["--memory-limit", args.memory_limit] if args.memory_limit else []
        r = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
        )
        life, pandas_s = r.get("lifetimes_s"), r.get("pandas_s")
        speedup = f"{life / r['catalogue_s']:.1f}x" if life else "-"
        print(
            f"{r['orders']:>12,} {r['catalogue_rows']:>11,} {r['floor_s']:>8.2f} "
            f"{r['catalogue_s']:>12.2f} {r['catalogue_s'] / r['floor_s']:>8.2f} "
            f"{f'{pandas_s:.2f}' if pandas_s else '-':>10} {f'{life:.1f}' if life else '-':>12} "
            f"{speedup:>13} {r['peak_rss_gb']:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
