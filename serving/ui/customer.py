"""One customer as marketing sees them: the scores of the latest run with the timing curve,
the reasons, the curves of the categories they are most likely to buy next, and the orders
and complaints before the scores' as-of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from features.sql import sql_text
from models.explain import direction_of, split_reasons
from models.timing import PROBABILITY_DAYS, bin_edges
from pipelines.home import Home, WarehouseBusy
from pipelines.marketing.assemble import with_reasons
from pipelines.marketing.category_lists import category_reason, probability_within
from pipelines.marketing.units import Units
from pipelines.settings import Settings
from pipelines.warehouse import has_table
from serving.store import ScoreStore

HISTORY_ROWS = 100  # most recent events shown
MONEY_EVENT_COLUMNS = ("amount", "discount_amount")


@dataclass
class CategoryCurve:
    """One of the customer's next categories: P(buys it within t days) from 0 to the horizon
    (at the curve's bin edges, where it is exact) and its cycle in words."""

    category: str
    probability_30d: float
    expected_days: float | None
    curve: list[tuple[float, float]]
    reason: str


@dataclass
class Customer:
    score: dict[str, Any]  # the API's fields for this customer
    curve: list[tuple[float, float]]  # (days, P(an order within them)), from 0 to the horizon
    reasons: list[str]
    directions: list[str]  # per reason: raises or lowers the churn risk
    orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    complaints: pd.DataFrame = field(default_factory=pd.DataFrame)
    history_note: str = ""
    next_order: str = ""  # conditional on ordering, or why no date is given
    categories: list[CategoryCurve] = field(default_factory=list)  # the scores' next ones


def next_order_text(
    score: dict[str, Any], as_of: pd.Timestamp, p_horizon: float, min_p: float, horizon: int
) -> str:
    """The next-order date only as what it is, a date if they order, and only when an order
    within the horizon is at least `min_p` likely; otherwise that an order is unlikely."""
    if p_horizon < min_p or score.get("next_order_date") is None:
        return f"unlikely to order in {horizon} days ({p_horizon:.0%} chance of any order)"
    text = f"if they order: around {score['next_order_date']}"
    low, high = score.get("next_order_p10_days"), score.get("next_order_p90_days")
    if low is not None and high is not None:
        first, last = (as_of + pd.Timedelta(days=round(d)) for d in (low, high))
        text += f", 80 % between {first.date()} and {last.date()}"
    return text


def find(settings: Settings, store: ScoreStore, customer_id: str) -> Customer | None:
    """The customer's page, or None when the latest run has no such customer."""
    found = store.lookup([customer_id])
    result = found.results[0]
    if not result.found:
        return None
    score = {**result.model_dump(), "model_version": found.model_version, "as_of": found.as_of}
    curve = [(0.0, 0.0)] + [
        (float(d), float(score[f"order_probability_{d}d"]))
        for d in PROBABILITY_DAYS
        if d < settings.horizon_days and score.get(f"order_probability_{d}d") is not None
    ]
    curve.append((float(settings.horizon_days), 1 - float(score["churn_probability"])))
    customer = Customer(score, curve, list(result.reasons), list(result.reason_directions))
    customer.next_order = next_order_text(
        score, pd.Timestamp(str(found.as_of)), curve[-1][1],
        settings.next_order_min_probability, settings.horizon_days,
    )  # fmt: skip
    if not customer.reasons:
        customer.reasons = _explained(settings, score)
        customer.directions = [direction_of(r) for r in customer.reasons]
    _add_history(settings, customer, customer_id, pd.Timestamp(str(found.as_of)))
    named = [c.category for c in result.next_categories]
    customer.categories = category_curves(settings, customer_id, named, str(found.as_of))
    return customer


def category_curves(
    settings: Settings, customer_id: str, categories: list[str], as_of: str
) -> list[CategoryCurve]:
    """The curves of `categories` (the scores' next categories, in their order) from the
    category scores of the same as-of; none when they were not kept."""
    path = Home.of(settings).category_scores
    if not categories or not path.exists():
        return []
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT * FROM read_parquet({sql_text(str(path))}) WHERE CAST(customer_id AS VARCHAR) "
            "= ? AND CAST(as_of AS DATE) = CAST(? AS DATE)",
            [customer_id, as_of],
        )
        .df()
    )
    rows = rows.set_index(rows["category"].astype(str))
    edges, horizon = bin_edges(settings.horizon_days), settings.horizon_days
    out = []
    for category in (c for c in categories if c in rows.index):
        row = rows.loc[[category]]
        curve = [(float(d), float(probability_within(row, d, horizon)[0])) for d in edges]
        days = row["expected_days"].iloc[0]
        out.append(CategoryCurve(
            category, float(row["probability_30d"].iloc[0]),
            None if pd.isna(days) else float(days), curve,
            category_reason(category, row["median_gap_days"].iloc[0],
                            row["days_since_purchase"].iloc[0]),
        ))  # fmt: skip
    return out


def _explained(settings: Settings, score: dict[str, Any]) -> list[str]:
    """Reasons for a customer `retain score` did not explain, from the same version."""
    row = pd.DataFrame([{"customer_id": score["customer_id"], "reasons": "",
                         "model_version": score["model_version"]}])  # fmt: skip
    return split_reasons(with_reasons(row, settings)["reasons"].iloc[0])


def _add_history(
    settings: Settings, customer: Customer, customer_id: str, as_of: pd.Timestamp
) -> None:
    """Orders and complaints before the as-of, newest first, read from the warehouse."""
    try:
        with Home.of(settings).reading_warehouse() as con:
            _read_history(con, settings, customer, customer_id, as_of)
    except WarehouseBusy:  # a run holds the warehouse: the scores still show
        customer.history_note = "history unavailable right now: a command is writing the warehouse"


def _read_history(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    customer: Customer,
    customer_id: str,
    as_of: pd.Timestamp,
) -> None:
    for table, at in (("orders", "ordered_at"), ("complaints", "opened_at")):
        if not has_table(con, table):
            continue
        frame = con.execute(
            f"SELECT * EXCLUDE (customer_id) FROM {table} WHERE customer_id = ? AND {at} < ? "
            f"ORDER BY {at} DESC LIMIT {HISTORY_ROWS}",
            [customer_id, as_of],
        ).df()
        setattr(customer, table, _shown(frame, Units(settings.currency, settings.locale)))


def _shown(frame: pd.DataFrame, units: Units) -> pd.DataFrame:
    """Events as the page prints them: text, money in the currency, blank where a value is
    missing (an unresolved complaint has no resolution time and no satisfaction), columns
    never filled left out."""
    shown = frame.dropna(axis=1, how="all")
    money = [c for c in MONEY_EVENT_COLUMNS if c in shown]
    text = shown.astype("string").fillna("")
    for column in money:
        text[column] = [units.money(v, 2) if pd.notna(v) else "" for v in shown[column]]
    return text
