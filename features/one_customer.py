"""The features of ONE customer at one cutoff in plain Python: what posted histories need at
lookup speed (a DuckDB statement costs milliseconds of planning; a history has a few rows).

The reference is the batch SQL (features.orders, features.complaints, features.frame): this
module restates those rules for one customer's validated rows and is proven equal to it by
tests/features/test_one_customer.py (hypothesis over random histories) and by the 1e-9 tests
of posted histories against the batch (CDNOW and generated customers). Change a rule there,
change it here; the tests fail until both agree.

Times are integer microseconds since the epoch (naive UTC), as `epoch_us` gives them to the
SQL; durations are real days, `(later - earlier) / MICROSECONDS_PER_DAY`, as features.sql.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.orders import COUNTED_CHANNELS
from features.schema import (
    CANCELLED_STATUS,
    CATEGORICAL_FEATURES,
    CATEGORY_FEATURES,
    COMPLAINT_WINDOWS_DAYS,
    COMPLETED_STATUS,
    NUMERIC_FEATURES,
    ORDER_WINDOWS_DAYS,
    RETURNED_STATUS,
)
from features.sql import MICROSECONDS_PER_DAY

Value = float | str | None
US_PER_DAY = int(MICROSECONDS_PER_DAY)


@dataclass
class Orders:
    """Validated orders of the customer (columns of the orders contract, one list each)."""

    ordered_at_us: list[int]
    status: list[str]
    amount: list[float] | None = None  # None: the source has no amounts
    channel: list[str | None] = field(default_factory=list)
    category: list[str | None] = field(default_factory=list)
    discount_amount: list[float | None] = field(default_factory=list)


@dataclass
class Complaints:
    opened_at_us: list[int] = field(default_factory=list)
    resolved_at_us: list[int | None] = field(default_factory=list)
    severity: list[int | None] = field(default_factory=list)
    satisfaction: list[int | None] = field(default_factory=list)


@dataclass
class Customer:
    signed_up_at_us: int | None = None
    segment: str | None = None
    region: str | None = None


class NotHere(Exception):
    """A history this module does not compute (more channels than features.orders counts one
    by one: the SQL then takes DuckDB's `mode`): the caller uses the SQL."""


def features_at(
    orders: Orders,
    complaints: Complaints,
    customer: Customer | None,
    cutoff_us: int,
    activity_window_days: int,
) -> dict[str, Value] | None:
    """FEATURE_COLUMNS of the customer at the cutoff, or None outside the scored population
    (no completed order before the cutoff, or the last one over `activity_window_days` ago)."""
    before = [i for i, at in enumerate(orders.ordered_at_us) if at < cutoff_us]
    age = {i: _days(cutoff_us, orders.ordered_at_us[i]) for i in before}
    done = [i for i in before if orders.status[i] == COMPLETED_STATUS]
    if not done or min(age[i] for i in done) > activity_window_days:
        return None
    found = _order_features(orders, before, done, age)
    found |= _mix(orders, done)
    found |= _complaint_features(complaints, cutoff_us, float(len(done)))
    person = customer or Customer()
    signed = person.signed_up_at_us
    found["days_since_signup"] = (
        _days(cutoff_us, signed) if signed is not None and signed < cutoff_us else None
    )
    found["segment"], found["region"] = person.segment, person.region
    # a posted history holds orders, not lines: no category signal, as in the batch without lines
    return found | dict.fromkeys(CATEGORY_FEATURES)


def _days(later: int, earlier: int) -> float:
    return float(later - earlier) / MICROSECONDS_PER_DAY


def _ratio(top: float | None, bottom: float | None) -> float | None:
    """top / nullif(bottom, 0), NULL in NULL out."""
    return None if top is None or bottom is None or bottom == 0 else top / bottom


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _greatest(a: float | None, b: float) -> float:
    """SQL greatest: NULL arguments are skipped (without amounts, net spend is 0)."""
    return b if a is None else max(a, b)


def _sum(values: Sequence[float | None]) -> float | None:
    """SQL sum: NULL over no (non-NULL) values, added in the order read."""
    total = None
    for v in values:
        if v is not None:
            total = v if total is None else total + v
    return total


def _order_features(
    orders: Orders, before: list[int], done: list[int], age: dict[int, float]
) -> dict[str, Value]:
    """features.orders.order_features for one customer: `before` are the orders before the
    cutoff, `done` the completed ones among them (at least one), `age` their ages in days."""
    amount = orders.amount

    def spend(rows: Sequence[int]) -> float | None:  # features.orders.no_spend: 0 or NULL
        total = None if amount is None else _sum([amount[i] for i in rows])
        return (None if amount is None else 0.0) if total is None else total

    out: dict[str, Value] = {}
    windows: dict[int, float | None] = {}  # spend in each window
    for w in ORDER_WINDOWS_DAYS:
        inside = [i for i in done if age[i] <= w]
        out[f"orders_{w}d"], windows[w] = float(len(inside)), spend(inside)
        out[f"spend_{w}d"] = windows[w]
    returned = [i for i in before if orders.status[i] == RETURNED_STATUS]
    spend_total, returned_total = spend(done), spend(returned)
    returned_365d = spend([i for i in returned if age[i] <= 365])
    ages = sorted(age[i] for i in done)
    total, tenure = float(len(ages)), ages[-1]
    net = _greatest(_minus(spend_total, returned_total), 0.0)
    prev_90d = _minus(windows[180], windows[90])
    change = _ratio(windows[90], prev_90d)
    discount = _sum([orders.discount_amount[i] for i in done] if orders.discount_amount else [])
    returns_total = float(len(returned))
    cancellations = float(sum(orders.status[i] == CANCELLED_STATUS for i in before))
    return (
        out
        | _cycle(ages)
        | {
            "orders_total": total,
            "spend_total": spend_total,
            "tenure_days": tenure,
            "avg_order_value": _ratio(spend_total, total),
            "max_order_value": None if amount is None else max(amount[i] for i in done),
            "avg_order_value_90d": _ratio(windows[90], sum(age[i] <= 90 for i in done)),
            "spend_prev_90d": prev_90d,
            "spend_change_90d": None if change is None else change - 1,
            "orders_per_30d_tenure": total * 30 / max(tenure, 30),
            "spend_per_30d_tenure": None
            if spend_total is None
            else spend_total * 30 / max(tenure, 30),
            "returns_total": returns_total,
            "cancellations_total": cancellations,
            "returned_value_total": returned_total,
            "net_spend_total": net,
            "net_spend_365d": _greatest(_minus(windows[365], returned_365d), 0.0),
            "net_avg_order_value": net / total,
            "return_cancel_share": (returns_total + cancellations) / len(before),
            "discount_share": _ratio(discount, _plus(discount, spend_total)),
        }
    )


def _cycle(ages: list[float]) -> dict[str, Value]:
    """Recency and the purchase cycle from the sorted ages (days) of the completed orders."""
    gaps = [b - a for a, b in itertools.pairwise(ages)]
    last, tenure, total = ages[0], ages[-1], len(ages)
    mean_gap = (tenure - last) / (total - 1) if total > 1 else None
    return {
        "days_since_last_order": last,
        "mean_days_between_orders": mean_gap,
        "median_days_between_orders": _median(gaps),
        "std_days_between_orders": _stddev_samp(gaps),
        "last_gap_days": ages[1] - ages[0] if total > 1 else None,
        "overdue_ratio": _ratio(last, mean_gap),
        "silent_share_of_tenure": _ratio(last, tenure),
    }


def _mix(orders: Orders, done: list[int]) -> dict[str, Value]:
    """categories_total, channels_total, main_channel (features.orders.mix_sql): distinct
    categories and channels of completed orders; the main channel is the one with most
    completed orders, ties to the first in sorted order of the channels of the table."""
    categories = {orders.category[i] for i in done if orders.category} - {None}
    vocabulary = sorted({c for c in orders.channel if c is not None})
    if len(vocabulary) > COUNTED_CHANNELS:
        raise NotHere(f"more than {COUNTED_CHANNELS} channels")
    counts = dict.fromkeys(vocabulary, 0)
    for i in done if orders.channel else []:
        if orders.channel[i] is not None:
            counts[orders.channel[i]] += 1  # type: ignore[index]
    top = max(counts.values(), default=0)
    main = next((c for c in vocabulary if counts[c] == top), None) if top > 0 else None
    return {
        "categories_total": float(len(categories)),
        "channels_total": float(sum(n > 0 for n in counts.values())),
        "main_channel": main,
    }


def _median(values: list[float]) -> float | None:
    """quantile_cont(0.5): the middle value, or interpolated halfway between the two."""
    if not values:
        return None
    ordered, middle = sorted(values), (len(values) - 1) / 2
    lo, hi = ordered[math.floor(middle)], ordered[math.ceil(middle)]
    return lo + (hi - lo) * (middle - math.floor(middle))


def _stddev_samp(values: list[float]) -> float | None:
    """Sample standard deviation, streamed as DuckDB's stddev_samp does (Welford)."""
    if len(values) < 2:
        return None
    mean = squares = 0.0
    for n, x in enumerate(values, 1):
        new_mean = mean + (x - mean) / n
        squares += (x - new_mean) * (x - mean)
        mean = new_mean
    return math.sqrt(squares / (len(values) - 1)) if squares > 0 else 0.0


def _avg(values: Sequence[float | int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return None if not known else _sum(known) / len(known)  # type: ignore[operator]


def _complaint_features(
    complaints: Complaints, cutoff_us: int, orders_total: float
) -> dict[str, Value]:
    """features.complaints: complaints opened before the cutoff; open unless resolved before
    it; resolutions and satisfaction known only once resolved before the cutoff."""
    k = complaints
    mine = [i for i, at in enumerate(k.opened_at_us) if at < cutoff_us]
    resolved_at = {i: k.resolved_at_us[i] for i in mine} if k.resolved_at_us else {}
    took = {  # days to resolve, of the complaints resolved before the cutoff
        i: _days(at, k.opened_at_us[i])
        for i, at in resolved_at.items()
        if at is not None and at < cutoff_us
    }
    severity = [k.severity[i] for i in mine] if k.severity else []
    windows: dict[str, Value] = {
        f"complaints_{w}d": float(
            sum(k.opened_at_us[i] >= cutoff_us - w * US_PER_DAY for i in mine)
        )
        for w in COMPLAINT_WINDOWS_DAYS
    }
    return windows | {
        "complaints_total": float(len(mine)),
        "open_complaints": float(len(mine) - len(took)),
        "days_since_last_complaint": min(
            (_days(cutoff_us, k.opened_at_us[i]) for i in mine), default=None
        ),
        "mean_resolution_days": _avg(list(took.values())),
        "max_severity": max((float(s) for s in severity if s is not None), default=None),
        "mean_severity": _avg(severity),
        "mean_satisfaction": _avg([k.satisfaction[i] for i in took] if k.satisfaction else []),
        "complaints_per_order": len(mine) / orders_total,
    }


def feature_rows(cutoff: pd.Timestamp, rows: list[tuple[str, dict[str, Value]]]) -> pd.DataFrame:
    """(customer id, `features_at` values) of several customers at one cutoff as the frame
    features.frame.build_frame gives: KEY + FEATURE columns, numeric ones float64 (NaN: not
    defined), categorical ones categories. One frame for many rows: its construction costs
    as much as the features of one customer."""
    values = [v for _, v in rows]
    numeric = {
        c: np.array([np.nan if v[c] is None else v[c] for v in values], dtype=np.float64)
        for c in NUMERIC_FEATURES
    }
    return pd.DataFrame(
        {
            "customer_id": [customer_id for customer_id, _ in rows],
            "cutoff_at": np.full(len(rows), cutoff.to_datetime64(), dtype="datetime64[ns]"),
            **numeric,
            **{c: pd.Categorical([v[c] for v in values]) for c in CATEGORICAL_FEATURES},
        }
    )
