"""The development protocol of issue 15: `retain evaluate`'s backtest over a fixed suite of
(dataset, cutoff) cases, the model against BG/NBD in each, and the worst case.

Cases: CDNOW at four cutoffs (real data), and generated scenarios that reproduce the failure
modes seen on data we do not have: a holiday peak in the evaluation horizon that no training
horizon contained (one year of history), a short history, a small base (300 customers), a
large one (200,000), a mid-history shift (a service failure), and three worlds of order lines
with product categories (`--without-categories`: the same without the category column). Every design is chosen by its
worst case here, never by one number on CDNOW.

Run: .venv/bin/python benchmarks/eval_suite.py [--skip-large] [--only CASE ...] [--seed N]
     [--without-recent-level] [--without-categories] [--earlier N] [--out runs/eval/suite.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from data import CDNOW

from models import recent_rate
from models.metrics import expected_calibration_error
from pipelines.ingest.importers import import_cdnow
from pipelines.ingest.sources import load_source
from pipelines.settings import Settings
from pipelines.synthetic.campaign import WorldChange, generate_dataset
from pipelines.training.evaluate import evaluate
from pipelines.warehouse import connect

DATA = Path(__file__).parent / ".data" / "suite"
METRICS = ("churn_roc_auc", "churn_pr_auc", "churn_brier", "churn_ece", "calibration_in_the_large")
VALUE_METRICS = ("value_gini", "value_mae", "value_decile_error", "value_top_decile_capture",
                 "value_interval_coverage")  # fmt: skip
VALUE_SCORERS = ("model", "bgnbd_gamma_gamma", "spend_rate", "bgnbd_orders_x_order_value")
MIN_CUSTOMERS_FOR_THE_TARGET = 2_000


@dataclass
class Case:
    name: str
    as_of: str
    earlier: int = 2
    horizon_days: int = 90
    customers: int = 20_000
    days: int = 730
    start: str = "2024-01-01"
    seed: int = 0
    change: WorldChange | None = None
    holiday_peak: float = 1.0
    lines: bool = False  # order lines with product categories (synthetic.lines)
    settings: dict[str, Any] = field(default_factory=dict)

    def data(self, categories: bool = True) -> Path:
        """The case's data folder; `categories` False: its order lines without their category
        column (the ablation: the same world, category features and curves off)."""
        folder = DATA / self.name
        if self.name.startswith("cdnow"):
            if not (folder / "orders.parquet").exists():
                import_cdnow(CDNOW, folder)
            return folder
        if not self._cached(folder / "generation.json"):
            generate_dataset(
                folder, self.customers, self.days, self.seed, self.start, False,
                change=self.change, holiday_peak=self.holiday_peak, lines=self.lines,
            )  # fmt: skip
        if categories or not self.lines:
            return folder
        bare = DATA / f"{self.name}-without-categories"
        lines = pd.read_parquet(folder / "order_lines.parquet").drop(columns="category")
        bare.mkdir(parents=True, exist_ok=True)
        lines.to_parquet(bare / "order_lines.parquet")
        for table in ("complaints", "customers"):
            shutil.copy(folder / f"{table}.parquet", bare / f"{table}.parquet")
        return bare

    def _cached(self, generation: Path) -> bool:
        """Whether the folder holds this case's world (a changed case is generated again)."""
        if not generation.exists():
            return False
        made = json.loads(generation.read_text())
        wanted = {"customers": self.customers, "days": self.days, "seed": self.seed,
                  "start": pd.Timestamp(self.start).isoformat()}  # fmt: skip
        peak = made.get("params", {}).get("holiday_peak")
        return all(made.get(k) == v for k, v in wanted.items()) and peak == self.holiday_peak


CASES = [
    Case("cdnow", "1997-10-01", earlier=3, horizon_days=91),
    Case("base", "2025-09-01"),
    Case("holiday-peak", "2025-09-01", start="2025-01-01", days=335, holiday_peak=2.5, seed=1),
    Case("short-history", "2025-09-01", start="2024-12-01", days=365, seed=2),
    Case("small-base", "2025-09-01", customers=300, seed=3),
    Case("shift", "2025-06-01", change=WorldChange("2025-03-01"), seed=4),
    Case("large-base", "2025-09-01", earlier=0, customers=200_000, seed=5),
    # the peak fills half the horizon (from 15 November of a 1 October cutoff), not 15 days
    Case("holiday-deep", "2025-10-01", start="2025-01-01", days=365, holiday_peak=2.5, seed=6),
    # two years with the peak: the recent cutoff (1 November) is observed through it, a
    # holiday the recent level must not read as a lasting shift
    Case("peak-2y", "2026-01-01", start="2024-01-01", days=821, holiday_peak=2.5, seed=7),
    # order lines with product categories (issue 30): with and without the category column
    # (--without-categories), the category features must never make churn worse
    Case("lines-base", "2025-09-01", seed=8, lines=True),
    Case("lines-short", "2025-09-01", start="2024-12-01", days=365, seed=9, lines=True),
    Case("lines-shift", "2025-06-01", change=WorldChange("2025-03-01"), seed=10, lines=True),
]


def run_case(case: Case, categories: bool = True) -> dict[str, Any]:
    """The backtest of one case: metrics per evaluation cutoff for the model and BG/NBD."""
    con = connect()
    load_source(con, case.data(categories))
    settings = Settings(horizon_days=case.horizon_days, **case.settings)
    started = time.perf_counter()
    report, predictions = evaluate(con, settings, pd.Timestamp(case.as_of), case.earlier)
    rows = []
    for cutoff, metrics in report["by_cutoff"].items():
        rows.append({"case": case.name, "cutoff": cutoff, **_pair(metrics)})
    last = rows[-1]
    last["customers"] = len(predictions)
    last["roc_auc_margin_se"] = _bootstrap_se(predictions)
    last["ece_noise_floor"] = _ece_noise_floor(predictions["model"].to_numpy())
    last["seconds"] = round(time.perf_counter() - started, 1)
    return {"rows": rows}


def _pair(metrics: dict[str, dict[str, float | None]]) -> dict[str, float | None]:
    """The model and BG/NBD on every metric, and the plain RFM baseline's Brier score (a
    season never learned must not leave the model worse calibrated than RFM)."""
    pairs = {f"{who}.{m}": metrics[who].get(m) for who in ("model", "bgnbd") for m in METRICS}
    value = {
        f"{who}.{m}": metrics.get(who, {}).get(m) for who in VALUE_SCORERS for m in VALUE_METRICS
    }
    return pairs | value | {"rfm.churn_brier": metrics["rfm"].get("churn_brier")}


def _bootstrap_se(predictions: pd.DataFrame, rounds: int = 200) -> float:
    """Standard error of the model's ROC-AUC margin over BG/NBD (customers resampled)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = predictions["churned"].to_numpy(dtype=int)
    model, bgnbd = predictions["model"].to_numpy(), predictions["bgnbd"].to_numpy()
    margins = []
    for _ in range(rounds):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            margins.append(roc_auc_score(y[i], model[i]) - roc_auc_score(y[i], bgnbd[i]))
    return float(np.std(margins))


def _ece_noise_floor(p: np.ndarray, rounds: int = 200) -> float:
    """Mean ECE of a perfectly calibrated model with these probabilities on this many
    customers (outcomes drawn from the probabilities): below it, ECE is noise."""
    rng = np.random.default_rng(0)
    return float(
        np.mean([expected_calibration_error(rng.random(len(p)) < p, p) for _ in range(rounds)])
    )


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Worst case and mean ROC-AUC margin over the cases the target covers (the last cutoff
    of each case with at least 2,000 scored customers)."""
    finals = [r for r in rows if "customers" in r]
    big = [r for r in finals if r["customers"] >= MIN_CUSTOMERS_FOR_THE_TARGET]
    margin = [r["model.churn_roc_auc"] - r["bgnbd.churn_roc_auc"] for r in big]
    brier = [r["bgnbd.churn_brier"] - r["model.churn_brier"] for r in big]
    every = [r["model.churn_roc_auc"] - r["bgnbd.churn_roc_auc"] for r in rows]
    return {
        "mean_roc_auc_margin": float(np.mean(margin)),
        "worst_roc_auc_margin": float(np.min(margin)),
        "worst_brier_gain": float(np.min(brier)),
        "worst_roc_auc_margin_any_cutoff": float(np.min(every)),
        "worst_ece": float(max(r["model.churn_ece"] for r in rows)),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = "| case | cutoff | customers | ROC-AUC model / BG/NBD | PR-AUC | Brier | ECE | calib. in the large | Brier RFM |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [
            f"{r[f'model.{m}']:.4f} / {r[f'bgnbd.{m}']:.4f}"
            if m != "calibration_in_the_large"
            else f"{r[f'model.{m}']:+.3f} / {r[f'bgnbd.{m}']:+.3f}"
            for m in METRICS
        ]
        customers = f"{r['customers']:,}" if "customers" in r else ""
        cells.append(f"{r['rfm.churn_brier']:.4f}")
        lines.append(f"| {r['case']} | {r['cutoff']} | {customers} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def value_table(rows: list[dict[str, Any]]) -> str:
    """The spend forecast against BG/NBD x Gamma-Gamma and today's two heuristics (12-month
    spend rate; BG/NBD orders x order value), horizon spend net of refunds."""
    head = ("| case | cutoff | Gini model / BG/NBD x GG / spend rate / orders x AOV "
            "| MAE (same order) | worst decile error model / BG/NBD x GG "
            "| top-decile capture model / BG/NBD x GG | 80 % coverage |")  # fmt: skip
    lines = [head, "|---|---|---|---|---|---|---|"]

    def cells(r: dict[str, Any], m: str, who: tuple[str, ...] = VALUE_SCORERS) -> str:
        return " / ".join("-" if r.get(f"{w}.{m}") is None else f"{r[f'{w}.{m}']:.3f}" for w in who)

    for r in rows:
        if r.get("model.value_gini") is None:
            continue
        pair = ("model", "bgnbd_gamma_gamma")
        lines.append(
            f"| {r['case']} | {r['cutoff']} | {cells(r, 'value_gini')} | {cells(r, 'value_mae')} "
            f"| {cells(r, 'value_decile_error', pair)} | {cells(r, 'value_top_decile_capture', pair)} "
            f"| {cells(r, 'value_interval_coverage', ('model',))} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true", help="Leave out the 200,000 base.")
    parser.add_argument("--only", nargs="*", help="Run only these cases.")
    parser.add_argument("--out", type=Path, default=Path("runs/eval/suite.json"))
    parser.add_argument(
        "--seed", type=int, help="Another world for the generated cases (named case-seedN)."
    )
    parser.add_argument(
        "--without-recent-level", action="store_true",
        help="Ablation: never move the level from the recent cutoff (models.recent_rate).",
    )  # fmt: skip
    parser.add_argument(
        "--earlier", type=int, help="Bounded run: this many earlier cutoffs per case (default: the case's)."
    )  # fmt: skip
    parser.add_argument(
        "--without-categories", action="store_true",
        help="Ablation: the line cases without their category column (no category features).",
    )  # fmt: skip
    args = parser.parse_args()
    if args.without_recent_level:
        recent_rate.MIN_Z = float("inf")
    chosen = [
        c for c in CASES
        if (not args.only or c.name in args.only) and not (args.skip_large and c.name == "large-base")
    ]  # fmt: skip
    if args.seed is not None:
        chosen = [
            c if c.name.startswith("cdnow") else replace(c, seed=args.seed, name=f"{c.name}-seed{args.seed}")
            for c in chosen
        ]  # fmt: skip
    if args.earlier is not None:
        chosen = [replace(c, earlier=args.earlier) for c in chosen]
    rows = []
    for case in chosen:
        result = run_case(case, categories=not args.without_categories)
        rows += result["rows"]
        print(table(result["rows"]).splitlines()[-1], flush=True)
    print(table(rows))
    print(value_table(rows))
    print(json.dumps(summary(rows), indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "summary": summary(rows)}, indent=2))


if __name__ == "__main__":
    main()
