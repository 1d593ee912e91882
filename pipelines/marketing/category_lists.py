"""Category due lists: customers likely to buy one category soon, from the category scores
`retain score` keeps beside the scores (one row per customer and category with a curve).

Ranked by P(buys the category within N days) x the customer's usual spend on it, the
control group drawn by the stable hash like every list, each row with the cycle's reason
("buys pet food every 21 days; last 19 days ago"). The command line and the "Due soon" page
both call `category_list`, so their files are the same bytes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.timing import bin_edges, cdf_at
from pipelines.errors import InputError
from pipelines.home import Home
from pipelines.marketing.assemble import MadeList
from pipelines.marketing.lists import control_draw, default_list_id
from pipelines.marketing.units import Units
from pipelines.settings import Settings

LIST_COLUMNS = (
    "customer_id",
    "category",
    "purchase_probability",
    "usual_spend",
    "due_value",
    "usual_gap_days",
    "days_since_purchase",
    "expected_days",
    "reasons",
    "as_of",
)


def read_category_scores(settings: Settings) -> pd.DataFrame:
    """The latest category scores; stops (exit 2) when `retain score` kept none."""
    path = Home.of(settings).category_scores
    if not path.exists():
        raise InputError(
            str(path),
            "no category scores: they need order lines with categories (or input.category_map) "
            "and a `retain score` after `retain import`",
        )
    return pd.read_parquet(path)


def categories_of(scores: pd.DataFrame) -> list[str]:
    """The categories with at least one curve, by name."""
    return sorted(scores["category"].astype(str).unique())


def probability_within(scores: pd.DataFrame, days: float, horizon_days: int) -> np.ndarray:
    """P(buys the category within `days`) from the stored curve (its bin probabilities)."""
    edges = bin_edges(horizon_days)
    bins = scores[[f"bin_{k}" for k in range(len(edges) - 1)]].to_numpy(dtype=float)
    return cdf_at(bins, edges, days)


def category_reason(category: str, usual_gap_days: float, days_since: float) -> str:
    """The cycle in words: 'buys pet food every 21 days; last 19 days ago' (never 0 days)."""
    ago = max(days_since, 1.0)
    last = "last 1 day ago" if round(ago) == 1 else f"last {ago:.0f} days ago"
    if math.isnan(usual_gap_days) or usual_gap_days < 0.5:
        return f"bought {category} before, no cycle yet; {last}"
    return f"buys {category} every {usual_gap_days:.0f} days; {last}"


def category_list(
    scores: pd.DataFrame,
    category: str,
    within_days: float,
    min_probability: float,
    settings: Settings,
    list_id: str | None = None,
    top: int | None = None,
) -> tuple[pd.DataFrame, str]:
    """(the ranked list with group and contact, its id) of one category's due customers."""
    if category not in set(scores["category"].astype(str)):
        known = ", ".join(categories_of(scores)) or "none"
        raise InputError("--category", f"no curves for {category!r}; categories: {known}")
    if not (math.isfinite(within_days) and 0 < within_days <= settings.horizon_days):
        raise InputError(
            "--within-days", f"expected days above 0 and at most {settings.horizon_days}"
        )
    rows = scores[scores["category"].astype(str) == category].reset_index(drop=True)
    p = probability_within(rows, within_days, settings.horizon_days)
    rows = rows.assign(
        purchase_probability=p,
        usual_spend=rows["spend_per_purchase"],
        due_value=p * rows["spend_per_purchase"].fillna(0),
        usual_gap_days=rows["median_gap_days"],
    )
    rows = rows[rows["purchase_probability"] >= min_probability]
    rows = rows.sort_values(["due_value", "customer_id"], ascending=[False, True])
    rows = rows.head(top) if top is not None else rows
    as_of = pd.Timestamp(scores["as_of"].iloc[0]) if len(scores) else pd.Timestamp(0)
    chosen = list_id or default_list_id(
        as_of, f"category={category}, within={within_days:g}, min={min_probability}", ""
    )
    rows = rows.assign(
        reasons=[
            category_reason(category, g, d)
            for g, d in zip(rows["usual_gap_days"], rows["days_since_purchase"], strict=True)
        ]
    )
    listed = rows[list(LIST_COLUMNS)].reset_index(drop=True)
    control = control_draw(listed["customer_id"], chosen) < settings.control_share
    head = pd.DataFrame(
        {
            "list_id": chosen,
            "rank": np.arange(1, len(listed) + 1),
            "group": np.where(control, "control", "target"),
            "contact": np.where(control, "no - control group", "yes"),
        }
    )
    rounded = listed.round(
        {"purchase_probability": 3, "usual_spend": 2, "due_value": 2}
        | {"usual_gap_days": 1, "days_since_purchase": 1, "expected_days": 1}
    )
    return pd.concat([head, rounded], axis=1), chosen


def make_category_list(
    settings: Settings,
    category: str,
    within_days: float,
    min_probability: float,
    list_id: str | None = None,
    top: int | None = None,
) -> MadeList:
    """The category due list from the latest category scores, with its provenance."""
    scores = read_category_scores(settings)
    listed, chosen = category_list(
        scores, category, within_days, min_probability, settings, list_id, top
    )
    facts = {
        "list_id": chosen,
        "kind": "category due list",
        "as_of": str(pd.Timestamp(scores["as_of"].iloc[0]).date()) if len(scores) else "",
        "selection": f"category={category}, within_days={within_days:g}, "
        f"min_order_probability={min_probability}",
        "control_share": str(settings.control_share),
        "value_unit": "money",
        "currency": settings.currency,
        "settings_hash": settings.model_hash(),
    }
    units = Units(settings.currency, settings.locale, False)
    return MadeList(listed, chosen, "category due list", facts, dict(settings.value_tiers), units)
