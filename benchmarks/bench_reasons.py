"""Reasons for 100,000 customers: SHAP contributions of the churn model plus the texts,
against the churn model's plain prediction on the same rows (the reference).

Run: .venv/bin/python benchmarks/bench_reasons.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_score import DATA_END
from data import generated, views

from features.frame import build_frame
from pipelines.backtest import fit_scorer, training_cutoffs
from pipelines.db import connect
from pipelines.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    settings = Settings(training_cutoffs=4)
    con = connect()
    views(con, generated(1_000_000))
    train = build_frame(
        con,
        training_cutoffs(pd.Timestamp("2025-09-01"), settings),
        365,
        settings.horizon_days,
        DATA_END,
    )
    scorer = fit_scorer(train[train["churned"].notna()], settings)
    rows = scorer.prepare(build_frame(con, [DATA_END], 365)).head(args.rows)
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
