"""`retain risk-list` on tens of millions of scores: wall time and peak memory of the command,
which reads only the head of the ranking from the scores file (DuckDB), and of the same list
ranked with every score in pandas (the reference), side by side in one run.

Scores are generated in the shape `retain score` writes (bench_pages); reasons are stored,
so no model is needed. Targets (issue 18): `--top 100000` on 37M scores in under a minute and
within 8 GB peak memory.

Run: .venv/bin/python benchmarks/check_lists_scale.py [--customers 37000000] [--top 100000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from bench_pages import FEATURES, SCORES

REFERENCE = """
import sys, pandas as pd
from pipelines.marketing.lists import Selection, build_list
scores = pd.read_parquet(sys.argv[1])
build_list(scores, "L", Selection(top=int(sys.argv[2])), 0.1).to_csv(sys.argv[3], index=False)
"""


def measured(
    command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """(seconds, peak resident GB) of a command, from GNU time; exit codes in `ok` pass."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode not in ok:
        sys.exit(done.stderr[-2000:])
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return seconds, int(peak.group(1)) / 1e6 if peak else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=37_000_000)
    parser.add_argument("--top", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "scores"
        folder.mkdir()
        con = duckdb.connect()
        con.execute(SCORES.format(n=args.customers, folder=folder))
        con.execute(FEATURES.format(n=args.customers, folder=folder))
        con.close()
        env = {**os.environ, "RETAIN_HOME": home}
        retain = str(Path(sys.executable).parent / "retain")
        ours = measured([retain, "risk-list", "--top", str(args.top), "--list-id", "L",
                         "--out", f"{home}/list.csv"], env)  # fmt: skip
        theirs = measured([sys.executable, "-c", REFERENCE, str(folder / "latest.parquet"),
                           str(args.top), f"{home}/reference.csv"], env)  # fmt: skip
    print(f"{args.customers:,} scores, --top {args.top:,}")
    print(f"  retain risk-list          {ours[0]:6.1f} s   peak {ours[1]:5.2f} GB")
    print(f"  reference (pandas, whole) {theirs[0]:6.1f} s   peak {theirs[1]:5.2f} GB")
    print(f"  ratio: time {ours[0] / theirs[0]:.2f}, peak memory {ours[1] / theirs[1]:.2f}")


if __name__ == "__main__":
    main()
