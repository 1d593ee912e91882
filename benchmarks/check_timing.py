"""Are the timing curve's short-window probabilities calibrated? At a labelled cutoff, a
scorer trained only on cutoffs whose horizons end by it predicts P(order within N days) per
customer; this prints the mean predicted and observed, overall and in the top decile, and the
highest probability. It shows whether an empty due list is the right answer (issue 15: a
300-customer base of Poisson buyers about 35 days apart).

Run: .venv/bin/python benchmarks/check_timing.py --data DIR --as-of 2025-09-01 [--days 7 14 30]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from models.timing import cdf_at
from pipelines.ingest.sources import load_source
from pipelines.settings import Settings
from pipelines.training.backtest import fit_scorer, ordered_within, training_cutoffs
from pipelines.training.train import labelled_frame
from pipelines.warehouse import connect
from pipelines.warehouse import data_end as find_data_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--as-of", required=True, help="A cutoff whose horizon is over.")
    parser.add_argument("--days", type=int, nargs="*", default=[7, 14, 30])
    args = parser.parse_args()
    con = connect()
    load_source(con, args.data)
    settings, v = Settings(), pd.Timestamp(args.as_of)
    learn = training_cutoffs(v, settings)
    frame, _ = labelled_frame(con, sorted({*learn, v}), find_data_end(con), settings)
    train = frame[frame["cutoff_at"].isin(learn) & frame["churned"].notna()]
    test = frame[frame["cutoff_at"] == v]
    scorer = fit_scorer(train, settings)
    prepared = scorer.prepare(test)
    x = scorer.churn.encoder_.transform(prepared)
    p, curve = scorer.churn.predict_proba_encoded(x, prepared), scorer.curve(prepared, x)
    print(f"{len(test):,} customers at {v.date()}, timing from {scorer.next_order.method_}")
    print("| days | predicted / observed | top decile predicted / observed | highest |")
    print("|---|---|---|---|")
    for days in args.days:
        q = (1 - p) * cdf_at(curve, scorer.next_order.edges_, days)
        seen = ordered_within(test, days)
        top = q >= np.quantile(q, 0.9)
        print(f"| {days} | {q.mean():.3f} / {seen.mean():.3f} | "
              f"{q[top].mean():.3f} / {seen[top].mean():.3f} | {q.max():.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
