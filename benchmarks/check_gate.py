"""The champion gate a month apart, both ways: a champion trained on events before --champion,
a challenger on events before --challenger; prints the gate's decision on the window after the
champion's data end, and what the old comparison at the challenger's evaluation cutoff (whose
labels the champion partly saw) would have said (docs/OPERATIONS.md, issue 25).

Run: .venv/bin/python benchmarks/check_gate.py --data DIR --champion 2025-05-01 --challenger 2025-06-01
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pipelines.ingest.sources import load_source
from pipelines.settings import Settings
from pipelines.training.backtest import model_metrics
from pipelines.training.gate import LAST_CUTOFF_TAG, compare, promotion_decision
from pipelines.training.train import labelled_frame, train
from pipelines.warehouse import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--champion", required=True, help="The champion's --as-of.")
    parser.add_argument("--challenger", required=True, help="The challenger's --as-of.")
    args = parser.parse_args()
    con = connect()
    load_source(con, args.data)
    settings = Settings()
    champion = train(con, settings, as_of=pd.Timestamp(args.champion))
    challenger = train(con, settings, as_of=pd.Timestamp(args.challenger))
    tags = {
        "data_end": str(champion.data_end.date()),
        "data_end_at": champion.data_end.isoformat(),
        LAST_CUTOFF_TAG: str(champion.training_window[1].date()),
    }

    def rows_at(cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
        return labelled_frame(con, cutoffs, challenger.data_end, settings)[0]

    decision = compare(challenger, champion.scorer, tags, settings, rows_at)
    print(f"window:   {'promote' if decision.promoted else 'keep'}: {decision.reason}")
    at_v, _ = model_metrics(champion.scorer, challenger.validation.reset_index(drop=True))
    margins = (settings.promotion_margin, settings.promotion_brier_margin)
    promoted, reason = promotion_decision(challenger.metrics["model"], at_v, *margins)
    v = challenger.evaluation_cutoff.date()
    print(f"old at {v}: {'promote' if promoted else 'keep'}: {reason}")


if __name__ == "__main__":
    main()
