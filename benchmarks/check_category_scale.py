"""`retain score` on a generated order-line base with product categories, and on the same base
without them: peak memory and time of each, to show that the category curves stay within
streaming scoring's memory budget (issue 30: peak within 20 % of the base without categories).

The base: `--unique` customers simulated with order lines (`simulate(..., lines=True)`, the
demo's defaults, in chunks of 250,000 so generation memory stays flat), then copied with new
customer and order ids until it holds `--customers` customers (the same lives repeated: what
is measured is the size, not the model). The same lines without their `category` column make
the base without categories. Each base is loaded into its own warehouse, then `retain score`
runs in its own process (GNU time) with a champion trained on a small generated world of the
same kind (with and without categories). 2 GB DuckDB limit, as issue 18.

Run: .venv/bin/python benchmarks/check_category_scale.py [--customers 1000000 10000000]
     [--unique 1000000] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from check_lists_scale import measured
from data import DATA, DAYS, START
from rich.progress import track

from pipelines.files import write_table
from pipelines.synthetic.generate import simulate

CHUNK = 250_000
AS_OF = "2025-12-01"
TABLES = ("order_lines", "complaints", "customers")
# Columns that carry a customer's or an order's id, per table: rewritten in each copy.
IDS = {"order_lines": ("customer_id", "order_id"), "complaints": ("customer_id", "complaint_id"), "customers": ("customer_id",)}  # fmt: skip
LOAD = """
import sys
from pipelines.cli.common import warehouse
from pipelines.settings import Settings
with warehouse(Settings(), sys.argv[1]) as con:
    print(con.execute("SELECT count(*) FROM order_lines").fetchone()[0])
"""
RETAIN = str(Path(sys.executable).parent / "retain")


def unique_base(customers: int) -> Path:
    """`customers` simulated customers with order lines, one Parquet part per chunk (cached)."""
    folder = DATA / f"lines-{customers}"
    if (folder / "generation.json").exists():
        return folder
    for chunk in track(range(0, customers, CHUNK), description=f"generating {folder.name}"):
        size = min(CHUNK, customers - chunk)
        number = chunk // CHUNK
        tables = simulate(size, DAYS, number, START, id_prefix=f"{number:03d}", lines=True)
        for name in TABLES:
            write_table(tables[name], folder / name / f"part-{number:03d}.parquet")
    (folder / "generation.json").write_text(json.dumps({"customers": customers}))
    return folder


def copied(unique: Path, customers: int, unique_customers: int, categories: bool) -> Path:
    """The unique base repeated (ids prefixed `c<k>-`) up to `customers`; without the lines'
    category column unless `categories`."""
    folder = DATA / f"lines-{customers}-{'with' if categories else 'without'}-categories"
    if (folder / "copied.json").exists():
        return folder
    con = duckdb.connect()
    con.execute("SET memory_limit = '4GB'; SET preserve_insertion_order = false")
    copies = -(-customers // unique_customers)
    for table in TABLES:
        (folder / table).mkdir(parents=True, exist_ok=True)
        for k in track(range(copies), description=f"copying {table}"):
            keep = "" if categories or table != "order_lines" else "EXCLUDE (category)"
            ids = ", ".join(f"'c{k}-' || {c} AS {c}" for c in IDS[table])
            source = f"read_parquet('{unique}/{table}/*.parquet')"
            con.execute(
                f"COPY (SELECT * {keep} REPLACE ({ids}) FROM {source}) "
                f"TO '{folder}/{table}/part-{k:03d}.parquet' (FORMAT parquet)"
            )
    (folder / "copied.json").write_text(json.dumps({"customers": customers}))
    return folder


def champion(root: Path, env: dict[str, str], categories: bool, customers: int) -> None:
    """A champion trained once on a small generated line world (with or without categories)."""
    if (root / "champion.done").exists():
        return
    home = {**env, "RETAIN_HOME": str(root / "train-home")}
    data = root / "train-data"
    subprocess.run([RETAIN, "generate", "--customers", str(customers), "--lines", "--out", str(data)], env=home, check=True)  # fmt: skip
    if not categories:
        lines = data / "order_lines.parquet"
        pq.write_table(pq.read_table(lines).drop_columns(["category"]), lines)
    subprocess.run([RETAIN, "train", "--data", str(data)], env=home, check=True)
    (root / "champion.done").write_text("")


def run(base: Path, root: Path, env: dict[str, str], categories: bool) -> str:
    """Load `base` into its own warehouse, score it; the table row of the run."""
    home = root / f"home-{base.name}"
    run_env = {**env, "RETAIN_HOME": str(home)}
    started = time.perf_counter()
    loaded = subprocess.run(
        [sys.executable, "-c", LOAD, str(base)], env=run_env, capture_output=True, text=True, check=True
    )  # fmt: skip
    load_seconds = time.perf_counter() - started
    seconds, peak = measured([RETAIN, "score", "--as-of", AS_OF], run_env)
    scores = pq.ParquetFile(home / "scores" / "latest.parquet")
    lines = int(loaded.stdout.strip().splitlines()[-1])
    kind = "with" if categories else "without"
    return (
        f"| {kind} | {lines:,} | {scores.metadata.num_rows:,} | {load_seconds:.0f} s "
        f"| {seconds:.0f} s | {peak:.2f} GB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--unique", type=int, default=1_000_000)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--champion-customers", type=int, default=20_000)
    args = parser.parse_args()
    unique = unique_base(args.unique)
    print("| categories | order lines | customers scored | load | score | score peak memory |")
    print("|---|---|---|---|---|---|")
    for customers in args.customers:
        for categories in (False, True):
            root = DATA / "category-scale" / ("with" if categories else "without")
            root.mkdir(parents=True, exist_ok=True)
            env = {
                **os.environ,
                "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
                "RETAIN_DUCKDB_MEMORY_LIMIT": args.memory_limit,
            }
            champion(root, env, categories, args.champion_customers)
            base = copied(unique, customers, args.unique, categories)
            print(run(base, root, env, categories), flush=True)


if __name__ == "__main__":
    main()
