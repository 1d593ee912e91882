"""A short history with partial cutoffs against a long one, on the same generated world: the
churn calibration of each 90-day model at one cutoff, checked when its labels have matured.

The short model sees `--months` of history before the cutoff (too few for the history rule,
so it trains with `partial_cutoffs`); the long one sees 18 months and the normal rule.

Run: .venv/bin/python benchmarks/check_partial.py [--customers 6000] [--seed 1] [--months 6]
"""

from __future__ import annotations

import argparse

import pandas as pd

from features.frame import build_frame
from models.metrics import churn_metrics
from pipelines.ingest.sources import load_frames
from pipelines.settings import Settings
from pipelines.synthetic.generate import simulate
from pipelines.training.train import train
from pipelines.warehouse import connect

AS_OF = pd.Timestamp("2025-07-01")
MATURED_DAYS = 120  # the 90-day labels at AS_OF are known 90 days later; a margin beyond


def calibration(customers: int, seed: int, days_before: int, partial: bool) -> dict[str, float]:
    """Churn metrics at AS_OF of a model trained on `days_before` days of history."""
    tables = simulate(
        customers, days_before + MATURED_DAYS, seed, AS_OF - pd.Timedelta(days=days_before)
    )
    con = connect()
    load_frames(con, {k: v for k, v in tables.items() if k != "truth"})
    result = train(con, Settings(partial_cutoffs=partial), AS_OF)
    matured = build_frame(con, [AS_OF], 365, 90, AS_OF + pd.Timedelta(days=MATURED_DAYS - 1))
    scores = result.scorer.score(matured, AS_OF, AS_OF, "check", with_reasons=False)
    p = scores["churn_probability"].to_numpy()
    metrics = churn_metrics(matured["churned"].to_numpy(dtype=int), p)
    return {"customers": len(p), "mean_p": float(p.mean()), **metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=6_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    runs = {
        f"{args.months} months, partial cutoffs": calibration(
            args.customers, args.seed, round(args.months * 30.44), True
        ),
        "18 months, the rule": calibration(args.customers, args.seed, 546, False),
    }
    print(
        f"90-day churn at {AS_OF.date()}, matured; seed {args.seed}, {args.customers:,} generated"
    )
    for name, m in runs.items():
        print(
            f"  {name:28} scored {m['customers']:>6,}  mean p {m['mean_p']:.4f}  "
            f"realized {m['churn_base_rate']:.4f}  ECE {m['churn_ece']:.4f}  "
            f"Brier {m['churn_brier']:.4f}  ROC-AUC {m['churn_roc_auc']:.4f}"
        )


if __name__ == "__main__":
    main()
