"""Synthetic data generation speed: 1M customers over two years vs the one-minute budget
of issue 2, plus the time to write the tables as Parquet.

Run: .venv/bin/python benchmarks/bench_generate.py [--customers N] [--days D]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from pipelines.synthetic.generate import GeneratorParams, generation_meta, simulate, write_dataset

BUDGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    start = pd.Timestamp("2024-01-01")
    t0 = time.perf_counter()
    tables = simulate(args.customers, args.days, 0, start)
    simulated = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        meta = generation_meta(args.customers, args.days, 0, start, GeneratorParams())
        write_dataset(tables, Path(tmp), meta)
        written = time.perf_counter() - t1
    total = simulated + written
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"customers {args.customers:,}  days {args.days}")
    print(f"orders {len(tables['orders']):,}  complaints {len(tables['complaints']):,}")
    print(f"simulate {simulated:.1f} s  write parquet {written:.1f} s  total {total:.1f} s")
    print(f"peak memory {peak_gb:.1f} GB")
    print(
        f"ratio total / {BUDGET_SECONDS:.0f} s budget: {total / BUDGET_SECONDS:.2f} (target <= 1.0)"
    )


if __name__ == "__main__":
    main()
