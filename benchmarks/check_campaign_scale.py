"""`retain campaigns collect` and `retain campaigns train` on campaigns of 1M and 10M contacted
customers: wall time and peak memory of each command, to show both are flat with the size.

Per size N: a slice of the generated base (`benchmarks/data.py`: parts of 1M customers, about
ten orders each; the 50M base of check_score_scale when it is there, else a base of 1.5 N) is
loaded into its own warehouse; `retain features --as-of 2025-12-01` computes everyone's
features at the as-of (the real, streamed feature path); two lists of N customers (`bench-1`,
`bench-2`, control share 0.10 by the stable hash, as lists draw it) are written as snapshots
under RETAIN_HOME/campaigns/ straight from that file by DuckDB. Then `collect` (readout
2025-12-01 to 2025-12-31) of each list and `train` run each in its own process. No contact
happened in the generated world, so the trained model is refused by the Qini gate: what is
measured is the cost, not the lift. Targets (issue 31): the 10M campaign collects and trains;
peak memory at 10M within 20 % of that at 1M (train reads at most
`uplift_max_rows_per_campaign` rows of a campaign).

Run: .venv/bin/python benchmarks/check_campaign_scale.py [--customers 1000000 10000000]
     [--memory-limit 2GB] [--max-rows 1000000]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from check_lists_scale import measured
from check_score_scale import LOAD, sliced
from data import CHUNK_CUSTOMERS, DATA, generated_base

from features.hashing import stable_unit_sql
from features.schema import FEATURE_COLUMNS

AS_OF, UNTIL = "2025-12-01", "2025-12-31"
CONTROL_SHARE = 0.10
LISTS = ("bench-1", "bench-2")


def base_for(customers: list[int]) -> Path:
    """The 50M generated base when it has enough parts, else a base of 1.5x the largest size."""
    wanted = math.ceil(1.5 * max(customers) / CHUNK_CUSTOMERS)
    big = DATA / "base-50000000"
    if len(list((big / "orders").glob("part-*.parquet"))) >= wanted:
        return big
    return generated_base(math.ceil(1.5 * max(customers)))


def write_snapshot(features: Path, out: Path, list_id: str, customers: int) -> int:
    """A list's snapshot of the first `customers` rows of the feature file (DuckDB, streamed)."""
    con = duckdb.connect()
    source = f"read_parquet('{features}')"
    have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    kept = ", ".join(f'"{c}"' for c in FEATURE_COLUMNS if c in have)
    draw = stable_unit_sql(f"'{list_id}:' || customer_id")
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY (SELECT '{list_id}' AS list_id, TIMESTAMP '{AS_OF}' AS as_of,
                         'winback' AS campaign_type, customer_id::VARCHAR AS customer_id,
                         CASE WHEN {draw} < {CONTROL_SHARE} THEN 'control' ELSE 'target' END
                             AS "group", {kept}
                  FROM {source} LIMIT {customers}) TO '{out}' (FORMAT parquet)"""
    )
    written = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()
    con.close()
    return int(written[0]) if written else 0


def prepared(base: Path, root: Path, customers: int, env: dict[str, str]) -> Path:
    """RETAIN_HOME with the slice loaded, the features at the as-of and both snapshots."""
    home = root / f"home-{customers}"
    run = {**env, "RETAIN_HOME": str(home)}
    parts = math.ceil(1.5 * customers / CHUNK_CUSTOMERS)
    started = time.perf_counter()
    data = str(sliced(base, parts, root))
    subprocess.run([sys.executable, "-c", LOAD, data], env=run, check=True, capture_output=True)
    features = home / "features-as-of.parquet"
    retain = str(Path(sys.executable).parent / "retain")
    subprocess.run(
        [retain, "features", "--as-of", AS_OF, "--out", str(features)],
        env=run, check=True, capture_output=True,
    )  # fmt: skip
    for list_id in LISTS:
        rows = write_snapshot(
            features, home / "campaigns" / f"{list_id}.parquet", list_id, customers
        )
    print(f"  (N={customers:,}: {parts} parts loaded, features and snapshots of {rows:,} "
          f"customers in {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--max-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    root = DATA / "campaign-scale"
    root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RETAIN_DUCKDB_MEMORY_LIMIT": args.memory_limit,
        "RETAIN_UPLIFT_MAX_ROWS_PER_CAMPAIGN": str(args.max_rows),
    }
    base = base_for(args.customers)
    retain = str(Path(sys.executable).parent / "retain")
    peaks = []
    print("| contacted (each list) | collect (one list) | collect peak | train (two lists) "
          "| train peak |\n|---|---|---|---|---|", flush=True)  # fmt: skip
    for customers in args.customers:
        home = prepared(base, root, customers, env)
        run = {
            **env,
            "RETAIN_HOME": str(home),
            "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        }
        window = ["--since", AS_OF, "--until", UNTIL]
        collected = [
            measured([retain, "campaigns", "collect", "--list-id", list_id, *window], run)
            for list_id in LISTS
        ]
        seconds, peak = max(collected, key=lambda c: c[1])
        trained = measured([retain, "campaigns", "train"], run)
        peaks.append((customers, peak, trained[1]))
        print(f"| {customers:,} | {seconds:.0f} s | {peak:.2f} GB | {trained[0]:.0f} s "
              f"| {trained[1]:.2f} GB |", flush=True)  # fmt: skip
    (small, collect_small, train_small), (large, collect_large, train_large) = peaks[0], peaks[-1]
    print(f"peak memory at {large:,} / at {small:,}: collect {collect_large / collect_small:.2f}, "
          f"train {train_large / train_small:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
