"""`retain campaigns collect` and `retain campaigns train` on campaigns of 1M and 10M contacted
customers: wall time and peak memory of each command, to show both are flat with the size.

The lives: `--unique` customers of the generated base (`benchmarks/data.py`, parts of 1M
customers with about ten orders each; 1.5M by default, enough for a list of 1M), whose
features at the as-of 2025-12-01 are computed once by `retain features --as-of` (the real,
streamed feature path, in a home of their own). Per size N, those lives are repeated with the
customer ids prefixed `c<k>-` until there are N (the same lives repeated, as
check_category_scale builds its 10M base: what is measured is the size, not the model): two
lists of N customers (`bench-1`, `bench-2`, control share 0.10 by the stable hash of the
prefixed id, as lists draw it) are written as snapshots by DuckDB straight from the feature
file, and a data folder holds only the orders the readout needs (those from the as-of on,
which also set the data's end), repeated with the same prefixes (order ids prefixed too),
written by DuckDB COPY, streamed. That folder (orders alone: the loader makes complaints and
customers empty) is loaded into the size's own warehouse; then `collect` (readout 2025-12-01
to 2025-12-31) of each list and `train` run each in its own process. No contact happened in
the generated world, so the trained model is refused by the Qini gate: what is measured is
the cost, not the lift. Targets (issue 31): the 10M campaign collects and trains; peak memory
at 10M within 20 % of that at 1M (train reads at most `uplift_max_rows_per_campaign` rows of a
campaign).

Run: .venv/bin/python benchmarks/check_campaign_scale.py [--customers 1000000 10000000]
     [--unique 1500000] [--memory-limit 2GB] [--max-rows 1000000]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from check_lists_scale import measured
from check_score_scale import LOAD
from data import DATA, generated_base

from features.hashing import stable_unit_sql
from features.schema import FEATURE_COLUMNS
from pipelines.home import Home

AS_OF, UNTIL = "2025-12-01", "2025-12-31"
CONTROL_SHARE = 0.10
LISTS = ("bench-1", "bench-2")
RETAIN = str(Path(sys.executable).parent / "retain")
# The benchmark's own DuckDB (snapshots and copies): streamed, within this much memory.
COPY_SETTINGS = "SET memory_limit = '2GB'; SET preserve_insertion_order = false"


def features_once(base: Path, root: Path, env: dict[str, str]) -> Path:
    """The base's features at the as-of, by `retain features --as-of` in a home of its own,
    removed after (cached: computed once for all sizes)."""
    out = root / "features-as-of.parquet"
    if out.exists():
        return out
    started = time.perf_counter()
    partial = root / "features-as-of.partial.parquet"
    run = {**env, "RETAIN_HOME": str(root / "features-home")}
    subprocess.run(
        [RETAIN, "features", "--data", str(base), "--as-of", AS_OF, "--out", str(partial)],
        env=run, check=True, capture_output=True,
    )  # fmt: skip
    partial.rename(out)
    shutil.rmtree(run["RETAIN_HOME"])  # its warehouse holds the whole base: not needed now
    print(f"  (features of {pq.ParquetFile(out).metadata.num_rows:,} customers at {AS_OF} "
          f"in {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    return out


def window_orders(base: Path, root: Path, copies: int) -> Path:
    """A data folder of the base's orders from the as-of on, repeated `copies` times with
    customer and order ids prefixed `c<k>-`: one part per copy (DuckDB COPY, streamed; each
    part written once, a size's folder links the first `copies`)."""
    parts, folder = root / "orders-copies", root / f"orders-{copies}" / "orders"
    parts.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(COPY_SETTINGS)
    for k in range(copies):
        part = parts / f"part-{k:03d}.parquet"
        if not part.exists():
            partial = part.with_suffix(".partial")
            con.execute(
                f"""COPY (SELECT * REPLACE ('c{k}-' || customer_id AS customer_id,
                                           'c{k}-' || order_id AS order_id)
                          FROM read_parquet('{base}/orders/*.parquet')
                          WHERE ordered_at >= TIMESTAMP '{AS_OF}')
                    TO '{partial}' (FORMAT parquet)"""
            )
            partial.rename(part)
        link = folder / part.name
        if not link.exists():
            link.symlink_to(part)
    con.close()
    return folder.parent


def write_snapshot(features: Path, out: Path, list_id: str, customers: int) -> int:
    """A list's snapshot of `customers` rows: the feature file's rows repeated, customer ids
    prefixed `c<k>-` (as `window_orders`), groups drawn on the prefixed id (DuckDB, streamed)."""
    con = duckdb.connect()
    con.execute(COPY_SETTINGS)
    source = f"read_parquet('{features}')"
    have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    kept = ", ".join(f'"{c}"' for c in FEATURE_COLUMNS if c in have)
    unique = pq.ParquetFile(features).metadata.num_rows
    repeated = f"""(SELECT f.* REPLACE ('c' || r.k || '-' || f.customer_id::VARCHAR AS customer_id)
                    FROM {source} f CROSS JOIN range({math.ceil(customers / unique)}) r(k)
                    LIMIT {customers})"""
    draw = stable_unit_sql(f"'{list_id}:' || customer_id")
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY (SELECT '{list_id}' AS list_id, TIMESTAMP '{AS_OF}' AS as_of,
                         'winback' AS campaign_type, customer_id,
                         CASE WHEN {draw} < {CONTROL_SHARE} THEN 'control' ELSE 'target' END
                             AS "group", {kept}
                  FROM {repeated}) TO '{out}' (FORMAT parquet)"""
    )
    con.close()
    return int(pq.ParquetFile(out).metadata.num_rows)


def prepared(base: Path, features: Path, root: Path, customers: int, env: dict[str, str]) -> Path:
    """A fresh RETAIN_HOME for N = `customers`: both snapshots and the repeated window orders
    loaded into its warehouse."""
    home = root / f"home-{customers}"
    shutil.rmtree(home, ignore_errors=True)
    started = time.perf_counter()
    copies = math.ceil(customers / pq.ParquetFile(features).metadata.num_rows)
    for list_id in LISTS:
        rows = write_snapshot(features, Home(home).campaign_snapshot(list_id), list_id, customers)
    data = str(window_orders(base, root, copies))
    run = {**env, "RETAIN_HOME": str(home)}
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD, data], env=run, check=True, capture_output=True, text=True
    )  # fmt: skip
    orders = int(loaded.stdout.strip().splitlines()[-1])
    print(f"  (N={customers:,}: {copies} copies, snapshots of {rows:,} customers, {orders:,} "
          f"orders from {AS_OF} loaded, in {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--unique", type=int, default=1_500_000, help="customers generated")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--max-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    root = DATA / "campaign-scale" / f"unique-{args.unique}"
    root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RETAIN_DUCKDB_MEMORY_LIMIT": args.memory_limit,
        "RETAIN_UPLIFT_MAX_ROWS_PER_CAMPAIGN": str(args.max_rows),
    }
    base = generated_base(args.unique)
    features = features_once(base, root, env)
    peaks = []
    print("| contacted (each list) | collect (one list) | collect peak | train (two lists) "
          "| train peak |\n|---|---|---|---|---|", flush=True)  # fmt: skip
    for customers in args.customers:
        home = prepared(base, features, root, customers, env)
        run = {**env, "RETAIN_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db"}  # fmt: skip
        window = ["--since", AS_OF, "--until", UNTIL]
        collected = [
            measured([RETAIN, "campaigns", "collect", "--list-id", list_id, *window], run)
            for list_id in LISTS
        ]
        seconds, peak = max(collected, key=lambda c: c[1])
        trained = measured([RETAIN, "campaigns", "train"], run)
        peaks.append((customers, peak, trained[1]))
        print(f"| {customers:,} | {seconds:.0f} s | {peak:.2f} GB | {trained[0]:.0f} s "
              f"| {trained[1]:.2f} GB |", flush=True)  # fmt: skip
    (small, collect_small, train_small), (large, collect_large, train_large) = peaks[0], peaks[-1]
    print(f"peak memory at {large:,} / at {small:,}: collect {collect_large / collect_small:.2f}, "
          f"train {train_large / train_small:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
