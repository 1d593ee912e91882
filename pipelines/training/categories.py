"""The category curves at training and evaluation: pair frames from the warehouse, the
model and both baselines fitted on the same pairs, and their pooled metrics."""

from __future__ import annotations

import uuid
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from features.categories import (
    CATEGORY_EVENTS,
    category_pairs,
    has_category_events,
    next_purchases,
)
from features.cutoffs import cutoffs_frame
from models.category_timing import CategoryTimingModel, CycleBaseline
from pipelines.settings import Settings
from pipelines.training.backtest import training_cutoffs as training_cutoffs_of

WITHIN_DAYS = 30  # the evaluated question: does the customer buy the category within 30 days
CATEGORIES_OFF = "off: no category events (order lines without category or category_map)"


def pair_frame(
    con: duckdb.DuckDBPyConnection,
    cutoffs: list[pd.Timestamp],
    settings: Settings,
    with_outcomes: bool = False,
) -> pd.DataFrame:
    """The bounded (customer, category) pairs at `cutoffs` (settings min_category_purchases,
    max_categories_per_customer), with `days_to_next_purchase` when `with_outcomes`."""
    tag = uuid.uuid4().hex[:12]
    cuts, pairs = f"_pair_cutoffs_{tag}", f"_pairs_{tag}"
    con.register(f"{cuts}_df", cutoffs_frame(cutoffs))
    try:
        con.execute(f"CREATE TEMP TABLE {cuts} AS SELECT cutoff_at FROM {cuts}_df")
        category_pairs(
            con,
            cuts,
            CATEGORY_EVENTS,
            settings.min_category_purchases,
            settings.max_categories_per_customer,
        ).create(pairs)
        if with_outcomes:
            outcome = next_purchases(con, pairs, CATEGORY_EVENTS)
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
    con: duckdb.DuckDBPyConnection, settings: Settings, as_of: pd.Timestamp
) -> pd.DataFrame | None:
    """The category curve fitted on the training cutoffs of `as_of` (each one's horizon over
    by then) and applied to the pairs at `as_of`: per (customer, category) the pair's rhythm,
    P(buys within 7, 14, 30 days), the expected days, the 80 % interval and the curve's bin
    probabilities (`bin_0`, ...; edges: models.timing.bin_edges(horizon)). None without
    category events or pairs."""
    if not has_category_events(con):
        return None
    train = pair_frame(con, training_cutoffs_of(as_of, settings), settings, with_outcomes=True)
    pairs = pair_frame(con, [as_of], settings)
    if train.empty or pairs.empty:
        return None
    model = CategoryTimingModel(settings.horizon_days).fit(train, as_of)
    summary = model.summary(pairs, CURVE_DAYS[-1]).drop(columns="probability")
    curve = model.curve(pairs, CURVE_DAYS)
    bins = model.bin_probabilities(pairs)
    out = pairs[list(KEPT_PAIR_COLUMNS)].rename(columns={"cutoff_at": "as_of"})
    for k, days in enumerate(CURVE_DAYS):
        out[f"probability_{days}d"] = curve[:, k]
    out = pd.concat([out, summary], axis=1)
    for k in range(bins.shape[1]):
        out[f"bin_{k}"] = bins[:, k]
    return out
