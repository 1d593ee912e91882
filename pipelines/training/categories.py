"""The category curves at training and evaluation: pair frames from the warehouse, the
model and both baselines fitted on the same pairs, and their pooled metrics."""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.metrics import brier_score_loss, roc_auc_score

from features.categories import (
    CATEGORY_EVENTS,
    category_pairs,
    has_category_events,
    next_purchases,
)
from features.cutoffs import cutoffs_frame
from features.frame import customers_of
from models.category_timing import CategoryTimingModel, CycleBaseline
from pipelines.settings import Settings
from pipelines.training.backtest import training_cutoffs as training_cutoffs_of
from pipelines.warehouse import first_row

WITHIN_DAYS = 30  # the evaluated question: does the customer buy the category within 30 days
CATEGORIES_OFF = "off: no category events (order lines without category or category_map)"


def pair_frame(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    settings: Settings,
    with_outcomes: bool = False,
    customers: str | None = None,
) -> pd.DataFrame:
    """The bounded (customer, category) pairs at `cutoffs` (settings min_category_purchases,
    max_categories_per_customer), with `days_to_next_purchase` when `with_outcomes`;
    `customers`: an SQL condition on `customer_id` (a sample, a pass) keeping only theirs."""
    tag = uuid.uuid4().hex[:12]
    cuts, pairs, events = f"_pair_cutoffs_{tag}", f"_pairs_{tag}", f"_events_{tag}"
    con.register(f"{cuts}_df", cutoffs_frame(cutoffs))
    where = f"WHERE {customers}" if customers else ""
    con.execute(f"CREATE TEMP VIEW {events} AS SELECT * FROM {CATEGORY_EVENTS} {where}")
    try:
        con.execute(f"CREATE TEMP TABLE {cuts} AS SELECT cutoff_at FROM {cuts}_df")
        category_pairs(
            con,
            cuts,
            events,
            settings.min_category_purchases,
            settings.max_categories_per_customer,
        ).create(pairs)
        if with_outcomes:
            outcome = next_purchases(con, pairs, events)
            rel = con.sql(
                f"SELECT p.*, o.days_to_next_purchase FROM {pairs} p "
                f"JOIN ({outcome.sql_query()}) o USING (customer_id, category, cutoff_at)"
            )
        else:
            rel = con.table(pairs)
        frame = rel.order("cutoff_at, customer_id, category").df()
    finally:
        con.unregister(f"{cuts}_df")
        con.execute(f"DROP TABLE IF EXISTS {pairs}")
        con.execute(f"DROP TABLE IF EXISTS {cuts}")
        con.execute(f"DROP VIEW IF EXISTS {events}")
    return frame


def pooled_metrics(
    test: pd.DataFrame, summary: pd.DataFrame, horizon_days: int
) -> dict[str, float]:
    """ROC-AUC and Brier of 'buys within WITHIN_DAYS' over all pairs, and the share of the
    next purchases seen inside the horizon that fell in the 80 % interval."""
    days = test["days_to_next_purchase"].to_numpy(dtype=float)
    bought = np.nan_to_num(days, nan=np.inf) < WITHIN_DAYS
    p = summary["probability"].to_numpy(dtype=float)
    seen = np.nan_to_num(days, nan=np.inf) < horizon_days
    low, high = summary["interval_low_days"].to_numpy(), summary["interval_high_days"].to_numpy()
    inside = (days[seen] >= low[seen]) & (days[seen] <= high[seen])
    two_classes = 0 < bought.sum() < len(bought)
    return {
        f"roc_auc_{WITHIN_DAYS}d": float(roc_auc_score(bought, p)) if two_classes else float("nan"),
        f"brier_{WITHIN_DAYS}d": float(brier_score_loss(bought, p)),
        "interval_80_coverage": float(inside.mean()) if seen.any() else float("nan"),
    }


def evaluate_categories(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: pd.Timestamp,
    train_cutoffs: list[pd.Timestamp],
) -> dict[str, Any]:
    """The category curve and both baselines, fitted on `train_cutoffs` (each one's horizon
    over by `as_of`) and judged on the pairs at `as_of`: `retain evaluate`'s categories."""
    if not has_category_events(con):
        return {"status": CATEGORIES_OFF}
    train = pair_frame(con, train_cutoffs, settings, with_outcomes=True)
    test = pair_frame(con, [as_of], settings, with_outcomes=True)
    if train.empty or test.empty:
        return {"status": "off: no pairs with enough purchases at the training cutoffs"}
    horizon = settings.horizon_days
    model = CategoryTimingModel(horizon).fit(train, as_of)
    scorers: dict[str, CategoryTimingModel | CycleBaseline] = {
        "model": model,
        "own_cycle_baseline": CycleBaseline("own", horizon).fit(train),
        "category_baseline": CycleBaseline("population", horizon).fit(train),
    }
    metrics = {
        name: pooled_metrics(test, s.summary(test, WITHIN_DAYS), horizon)
        for name, s in scorers.items()
    }
    return {
        "status": "on",
        "pairs_evaluated": len(test),
        "pairs_trained": model.trained_rows_,
        "categories": len(model.categories_),
        "within_days": WITHIN_DAYS,
        "base_rate": float((test["days_to_next_purchase"] < WITHIN_DAYS).mean()),
        "metrics": metrics,
    }


# A scored pair costs about what this many orders cost in a scoring pass (its inputs, the
# curve's bins and their copies on the way to Parquet): 20M orders a pass held 4 GB of pairs.
PAIR_COST = 20
CURVE_DAYS = (7, 14, 30)  # probability_7d, _14d, _30d of each pair in the category scores
KEPT_PAIR_COLUMNS = (
    "customer_id",
    "category",
    "cutoff_at",
    "purchases_total",
    "spend_per_purchase",
    "median_gap_days",
    "days_since_purchase",
)


def category_scores(
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: pd.Timestamp, out: Path
) -> tuple[int, int] | None:
    """The category curve fitted on the training cutoffs of `as_of` (each one's horizon over
    by then) and applied to the pairs at `as_of`, written to `out` (Parquet): per (customer,
    category) the pair's rhythm, P(buys within 7, 14, 30 days), the expected days, the 80 %
    interval and the curve's bin probabilities (`bin_0`, ...; edges:
    models.timing.bin_edges(horizon)). Bounded like scoring: the curve learns from a fixed
    hash sample of customers (`training_max_customers` / `max_categories_per_customer`),
    and the pairs are scored a hash share of the customers per pass (about
    `score_part_orders` / PAIR_COST pairs each). (pairs, customers) written; None without category events or
    pairs (and `out` is then not written)."""
    if not has_category_events(con):
        return None
    customers, pairs = (int(v) for v in first_row(
        con, f"SELECT count(DISTINCT customer_id), approx_count_distinct(customer_id || "
        f"'#' || category) FROM {CATEGORY_EVENTS}",
    ))  # fmt: skip
    sample = settings.training_max_customers / settings.max_categories_per_customer
    train = pair_frame(
        con, training_cutoffs_of(as_of, settings), settings, with_outcomes=True,
        customers=customers_of(1, 0, min(1.0, sample / max(customers, 1))),
    )  # fmt: skip
    if train.empty:
        return None
    model = CategoryTimingModel(settings.horizon_days).fit(train, as_of)
    del train
    pairs = min(pairs, customers * settings.max_categories_per_customer)
    passes = max(1, math.ceil(pairs * PAIR_COST / settings.score_part_orders))
    return _write_pair_scores(con, settings, model, as_of, passes, out)


def _write_pair_scores(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    model: CategoryTimingModel,
    as_of: pd.Timestamp,
    passes: int,
    out: Path,
) -> tuple[int, int] | None:
    """Score the pairs at `as_of` pass by pass into `out` (written atomically)."""
    pairs = customers = 0
    partial = out.with_name(out.name + ".partial")
    writer: pq.ParquetWriter | None = None
    try:
        for k in range(passes):
            share = customers_of(passes, k)
            scored = _pair_scores(model, pair_frame(con, [as_of], settings, customers=share))
            if scored.empty:
                continue
            table = pa.Table.from_pandas(scored, preserve_index=False)
            writer = writer or pq.ParquetWriter(partial, table.schema)
            writer.write_table(table.cast(writer.schema))
            pairs, customers = pairs + len(scored), customers + scored["customer_id"].nunique()
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        return None
    os.replace(partial, out)
    return pairs, customers


def _pair_scores(model: CategoryTimingModel, pairs: pd.DataFrame) -> pd.DataFrame:
    """One pass's pairs with their curve (the columns of `category_scores`)."""
    if pairs.empty:
        return pairs
    bins = model.bin_probabilities(pairs)
    summary = model.summary(pairs, CURVE_DAYS[-1], bins).drop(columns="probability")
    curve = model.curve(pairs, CURVE_DAYS, bins)
    out = pairs[list(KEPT_PAIR_COLUMNS)].rename(columns={"cutoff_at": "as_of"})
    for k, days in enumerate(CURVE_DAYS):
        out[f"probability_{days}d"] = curve[:, k]
    out = pd.concat([out.reset_index(drop=True), summary.reset_index(drop=True)], axis=1)
    for k in range(bins.shape[1]):
        out[f"bin_{k}"] = bins[:, k]
    return out
