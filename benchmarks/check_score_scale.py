"""`retain score` on growing slices of the 50M-customer generated base: wall time and peak
memory of the command at each size, to show that streaming scoring's memory is flat.

The base (`benchmarks/data.py`, `generated_base(50_000_000)`: 50 Parquet parts of 1M
customers, ~10 orders each) is sliced by parts, so 2, 14 and 50 parts hold about 1.5M, 10M
and 37M customers active at the as-of. Each slice is loaded into its own warehouse
(`retain validate`-style ingest, timed apart), then `retain score` runs in its own process
with the same settings; a champion is trained once on a small generated base (the scale,
not the model, is measured). Targets (issue 18): the whole base completes; peak memory at
10M active customers within 20 % of that at 1M.

Run: .venv/bin/python benchmarks/check_score_scale.py [--parts 2 14 50]
     [--memory-limit 2GB] [--part-orders 10000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from check_lists_scale import measured
from data import DATA, generated_base

AS_OF = "2025-12-01"
LOAD = """
import sys
from pipelines.cli.common import warehouse
from pipelines.settings import Settings
with warehouse(Settings(), sys.argv[1]) as con:
    print(con.execute("SELECT count(*) FROM orders").fetchone()[0])
"""


def sliced(base: Path, parts: int, root: Path) -> Path:
    """A data folder holding the first `parts` parts of each table (symbolic links)."""
    folder = root / f"slice-{parts}"
    for table in ("orders", "complaints", "customers"):
        (folder / table).mkdir(parents=True, exist_ok=True)
        for source in sorted((base / table).glob("part-*.parquet"))[:parts]:
            link = folder / table / source.name
            if not link.exists():
                link.symlink_to(source)
    return folder


def champion(root: Path, env: dict[str, str]) -> None:
    """Train a champion once on a small generated base (same features, any model)."""
    retain = str(Path(sys.executable).parent / "retain")
    if (root / "champion.done").exists():
        return
    home = {**env, "RETAIN_HOME": str(root / "train-home")}
    data = root / "train-data"
    subprocess.run([retain, "generate", "--customers", "20000", "--out", str(data)], env=home, check=True)  # fmt: skip
    subprocess.run([retain, "train", "--data", str(data)], env=home, check=True)
    (root / "champion.done").write_text("")


def downstream(root: Path, home: Path, env: dict[str, str]) -> None:
    """Lists, drift and the campaign report on the last size's scores, each its own process
    (target: each within 8 GB peak memory). Drift compares with the champion's reference."""
    shutil.copy(root / "train-home" / "reference.parquet", home / "reference.parquet")
    run = {**env, "RETAIN_HOME": str(home)}
    retain = str(Path(sys.executable).parent / "retain")
    out = home / "downstream"
    out.mkdir(exist_ok=True)
    commands = {
        "risk-list --top 100000": ["risk-list", "--top", "100000", "--out", str(out / "list.csv")],
        "drift": ["drift", "--out", str(out / "drift.html")],
        "campaign-report (100,000 listed, December)": [
            "campaign-report", "--list", str(out / "list.csv"), "--since", AS_OF,
            "--out", str(out / "report.json"),
        ],
    }  # fmt: skip
    print("| command | wall | peak memory |")
    print("|---|---|---|")
    for name, args in commands.items():
        seconds, peak = measured([retain, *args], run, ok=(0, 1))  # drift exits 1 on an alarm
        print(f"| `retain {name}` | {seconds:.0f} s | {peak:.2f} GB |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=int, nargs="+", default=[2, 14, 50])
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--part-orders", type=int, default=10_000_000)
    parser.add_argument(
        "--downstream", action="store_true", help="then lists, drift, campaign report"
    )
    args = parser.parse_args()
    root = DATA / "score-scale"
    root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
        "RETAIN_DUCKDB_MEMORY_LIMIT": args.memory_limit,
        "RETAIN_SCORE_PART_ORDERS": str(args.part_orders),
    }
    champion(root, env)
    base = DATA / "base-50000000"
    if len(list((base / "orders").glob("part-*.parquet"))) <= max(args.parts):
        base = generated_base(50_000_000)  # (cached) generation, or its end
    retain = str(Path(sys.executable).parent / "retain")
    print("| parts | orders | active customers scored | load | score | score peak memory |")
    print("|---|---|---|---|---|---|")
    for parts in args.parts:
        home = root / f"home-{parts}"
        run = {**env, "RETAIN_HOME": str(home)}
        started = time.perf_counter()
        loaded = subprocess.run(
            [sys.executable, "-c", LOAD, str(sliced(base, parts, root))],
            env=run, capture_output=True, text=True, check=True,
        )  # fmt: skip
        load_seconds = time.perf_counter() - started
        seconds, peak = measured([retain, "score", "--as-of", AS_OF], run)
        scored = pq.ParquetFile(home / "scores" / "latest.parquet").metadata.num_rows
        orders = int(loaded.stdout.strip().splitlines()[-1])
        print(
            f"| {parts} | {orders:,} | {scored:,} | {load_seconds:.0f} s | {seconds:.0f} s "
            f"| {peak:.2f} GB |",
            flush=True,
        )

    if args.downstream:
        downstream(root, root / f"home-{args.parts[-1]}", env)


if __name__ == "__main__":
    main()
