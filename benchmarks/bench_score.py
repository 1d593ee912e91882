"""Batch scoring throughput: the full scorer (churn + calibration, next-order mean and three
quantiles, value and risk tiers) vs LightGBM's `Booster.predict` of the churn model alone, on
the same precomputed feature rows. Target (issue 6): at least 0.7x. Reasons are excluded
(they are computed for list customers only).

Run: .venv/bin/python benchmarks/bench_score.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from data import generated, views

from features.frame import build_frame
from models.scorer import Scorer
from pipelines.settings import Settings
from pipelines.training.backtest import fit_scorer, training_cutoffs
from pipelines.warehouse import connect

DATA_END = pd.Timestamp("2026-01-01")


def scorer_and_features() -> tuple[Scorer, pd.DataFrame]:
    """A scorer trained on the 1M-order benchmark data and the prepared features at its end."""
    settings = Settings(training_cutoffs=4)
    con = connect()
    views(con, generated(1_000_000))
    v = pd.Timestamp("2025-09-01")
    train = build_frame(con, training_cutoffs(v, settings), 365, settings.horizon_days, DATA_END)
    scorer = fit_scorer(train[train["churned"].notna()], settings)
    return scorer, scorer.prepare(build_frame(con, [DATA_END], 365))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    scorer, features = scorer_and_features()
    rows = pd.concat([features] * (args.rows // len(features) + 1), ignore_index=True).head(
        args.rows
    )
    x = scorer.churn.encoder_.transform(rows)
    best_booster = best_scorer = float("inf")
    for _ in range(3):  # alternate, keep the best of each
        start = time.perf_counter()
        scorer.churn.booster_.predict(x)
        best_booster = min(best_booster, time.perf_counter() - start)
        start = time.perf_counter()
        scorer.score(rows, DATA_END, DATA_END, "bench", with_reasons=False)
        best_scorer = min(best_scorer, time.perf_counter() - start)
    n = len(rows)
    print(f"rows {n:,}; churn trees {scorer.churn.n_trees_}")
    print(
        f"Booster.predict alone (reference) {best_booster:6.2f} s  {n / best_booster:12,.0f} rows/s"
    )
    print(
        f"full scorer                       {best_scorer:6.2f} s  {n / best_scorer:12,.0f} rows/s"
    )
    print(f"throughput ratio scorer / booster: {best_booster / best_scorer:.2f} (target >= 0.7)")


if __name__ == "__main__":
    main()
