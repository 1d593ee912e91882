"""Reasons for 100,000 customers: SHAP contributions of the churn model plus the texts,
against the churn model's plain prediction on the same rows (the reference).

Run: .venv/bin/python benchmarks/bench_reasons.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_score import scorer_and_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    scorer, features = scorer_and_features()
    rows = features.head(args.rows)
    start = time.perf_counter()
    scorer.churn.predict_proba(rows)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    reasons = scorer.reasons(rows)
    explained = time.perf_counter() - start
    n = len(rows)
    print(f"rows {n:,}; churn trees {scorer.churn.n_trees_}")
    print(f"churn probability (reference) {plain:6.2f} s  {n / plain:10,.0f} rows/s")
    print(
        f"reasons (SHAP + texts)        {explained:6.2f} s  {n / explained:10,.0f} rows/s  ({explained / plain:.0f}x)"
    )
    print(f"example: {reasons[0]}")


if __name__ == "__main__":
    main()
