"""Lists marketing acts on: who to contact, with a held-back control group by stable hash.

Control membership depends only on (list_id, customer_id): re-running a list gives the same
groups on any machine, so the campaign's effect can be measured against the control group.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.hashing import stable_units
from models.timing import PROBABILITY_DAYS

SORT_KEYS = ("value_at_risk", "churn_probability", "due_value")
RANK_KEYS = (*SORT_KEYS, "saved_value")  # saved value: only with a kept uplift model
# A list id is written into every row and is a saved list's file name: letters, digits,
# '.', '_' and '-', starting with a letter or digit, at most 80 characters.
LIST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
LIST_ID_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 80"
MAX_LIST_ROWS = 100_000_000  # top N and budget: at most this (more than any scored base)
MAX_CATEGORY_LENGTH = 200  # a category asked for: at most this many characters
# Lists are read by people: figures are rounded once the ranking (on exact values) is done.
DECIMALS = {
    "churn_probability": 3,
    "order_probability": 3,
    **{f"order_probability_{d}d": 3 for d in PROBABILITY_DAYS},
    "due_value": 2,
    "expected_days_to_next_order": 1,
    "next_order_p10_days": 1,
    "next_order_p90_days": 1,
    "expected_value": 2,
    "value_at_risk": 2,
    "uplift": 3,
    "uplift_low": 3,
    "uplift_high": 3,
    "saved_value": 2,
    **{f"predicted_clv_365d{q}": 2 for q in ("", "_p10", "_p90")},
}
COLUMN_DESCRIPTIONS = {
    "list_id": "Identifier of this list; with customer_id it fixes the group.",
    "rank": "Position in the list (1 = first to contact).",
    "group": "target: contact; control: held back (do not contact) to measure the effect.",
    "contact": "yes for target, 'no - control group' for the held-back customers.",
    "customer_id": "Customer.",
    "as_of": "Date the scores describe.",
    "churn_probability": "Calibrated probability of no order within the horizon (0.3 = 30 %).",
    "risk_tier": "high / medium / low churn risk (thresholds in the settings).",
    "expected_days_to_next_order": "Expected days until the next order, if one comes within the horizon.",
    "next_order_p10_days": "10 % of next orders come sooner than this.",
    "next_order_p90_days": "90 % of next orders come sooner than this.",
    "next_order_date": "as_of + expected days: when to time an offer.",
    **{
        f"order_probability_{d}d": f"Probability of an order within {d} days (the timing curve)."
        for d in PROBABILITY_DAYS
    },
    "order_probability": "Probability of an order within the due list's window.",
    "due_value": "order_probability x expected_value: what acting on the timing is worth.",
    "expected_value": "Spend expected over the horizon if the customer orders in it, net of refunds and credit notes (the spend forecast).",
    "predicted_clv_365d": "Spend forecast over the next 365 days, net of refunds (expected orders without amounts).",
    "predicted_clv_365d_p10": "10 % of customers like this one spend less than this over 365 days.",
    "predicted_clv_365d_p90": "90 % of customers like this one spend less than this over 365 days.",
    "value_at_risk": "churn_probability x expected_value: revenue at stake (0 for a customer whose purchases were all refunded).",
    "uplift": "Predicted change in P(order within the campaign window) if contacted (negative: contact hurts).",
    "uplift_low": "Lower end of the uplift's 90 % interval.",
    "uplift_high": "Upper end of the uplift's 90 % interval.",
    "saved_value": "uplift x expected_value: the value a contact is expected to save.",
    "reasons": "Up to three reasons, most important first, each ending in whether it raises or "
    "lowers the churn risk (a due list's: the customer's own cycle).",
    "reason_directions": "Per reason, in the same order: raises or lowers (the churn risk).",
    "segment": "Declared customer segment.",
    "region": "Declared customer region.",
    "model_version": "Registered model version that produced the scores.",
    "scored_at": "When the scores were computed.",
}


def control_draw(customer_ids: pd.Series, list_id: str) -> np.ndarray:
    """A number in [0, 1) per customer, fixed for a (list, customer) pair (the stable hash)."""
    return stable_units(f"{list_id}:{c}" for c in customer_ids)


def default_list_id(as_of: pd.Timestamp, selection: str, model_version: str) -> str:
    tag = hashlib.sha256(f"{as_of}:{selection}:{model_version}".encode()).hexdigest()[:6]
    return f"{as_of:%Y%m%d}-{tag}"


@dataclass
class Selection:
    """Who goes on a list. `budget` counts contacts (target group only); `top` counts rows."""

    top: int | None = None
    budget: int | None = None
    min_probability: float = 0.0
    risk_tiers: list[str] = field(default_factory=list)
    value_tiers: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    sort: str = "value_at_risk"
    within_days: float | None = None  # due lists: P(order within this many days) ...
    min_order_probability: float = 0.5  # ... at least this, and above the churn probability
    regions: list[str] = field(default_factory=list)
    max_probability: float = 1.0  # with min_probability, the churn-risk range
    exclude_hurt: bool = False  # ranked by saved value: leave out who a contact would hurt
    category: str | None = None  # due lists: P(buys this category within within_days)

    def describe(self) -> str:
        shown = {
            k: v
            for k, v in vars(self).items()
            if k != "max_probability" and v not in (None, [], 0.0)
        }
        if self.max_probability != 1.0:  # the range's top, when it is one
            shown["max_probability"] = self.max_probability
        if self.within_days is None:
            shown.pop("min_order_probability", None)
        return ", ".join(f"{k}={v}" for k, v in shown.items())


def selection_problem(sel: Selection, list_id: str | None, horizon_days: int) -> str | None:
    """What is wrong with a selection or list id, as 'field: expected ...' (None: usable).
    One rule for the command line and the pages: counts bounded, probabilities in [0, 1]."""
    for name, count in (("top", sel.top), ("budget", sel.budget)):
        if count is not None and not 1 <= count <= MAX_LIST_ROWS:
            return f"{name}: expected a whole number from 1 to {MAX_LIST_ROWS:,}, got {count}"
    for name, p in (("min_probability", sel.min_probability),
                    ("max_probability", sel.max_probability),
                    ("min_order_probability", sel.min_order_probability)):  # fmt: skip
        if not (math.isfinite(p) and 0 <= p <= 1):
            return f"{name}: expected a probability from 0 to 1, got {p}"
    if sel.max_probability < sel.min_probability:
        return (
            f"max_probability: expected at least min_probability ({sel.min_probability}), "
            f"got {sel.max_probability}"
        )
    days = sel.within_days
    if days is not None and not (math.isfinite(days) and 0 < days <= horizon_days):
        return f"within_days: expected days above 0 and at most the horizon ({horizon_days}), got {days}"
    if sel.category is not None and not 0 < len(sel.category) <= MAX_CATEGORY_LENGTH:
        return f"category: expected a category name of 1 to {MAX_CATEGORY_LENGTH} characters"
    if sel.sort not in SORT_KEYS:
        return f"sort: expected one of {', '.join(SORT_KEYS)}, got {sel.sort!r}"
    if list_id is not None and not LIST_ID.fullmatch(list_id):
        return f"list_id: expected {LIST_ID_RULE}, got {list_id[:40]!r}"
    return None


def order_probability_within(scores: pd.DataFrame, days: float, horizon_days: int) -> np.ndarray:
    """P(order within `days`) from the curve's points the scores carry: exact at 7, 14 and 30
    days and at the horizon (1 - churn probability), linear between them."""
    points = [(0.0, np.zeros(len(scores)))]
    points += [
        (float(d), scores[f"order_probability_{d}d"].to_numpy(float))
        for d in PROBABILITY_DAYS
        if d < horizon_days
    ]
    points.append((float(horizon_days), 1 - scores["churn_probability"].to_numpy(float)))
    t = min(max(days, 0.0), float(horizon_days))
    for (t0, p0), (t1, p1) in itertools.pairwise(points):
        if t <= t1:
            return p0 + (p1 - p0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def with_due_columns(scores: pd.DataFrame, days: float, horizon_days: int) -> pd.DataFrame:
    """`order_probability` within `days` and `due_value` (it times the expected value)."""
    probability = order_probability_within(scores, days, horizon_days)
    return scores.assign(
        order_probability=probability, due_value=probability * scores["expected_value"]
    )


# Column -> Selection field of each "one of these values" filter; the declared customer
# columns live beside the scores, in the features.
VALUE_FILTERS = {"risk_tier": "risk_tiers", "value_tier": "value_tiers",
                 "segment": "segments", "region": "regions"}  # fmt: skip
DECLARED_COLUMNS = ("segment", "region")


def filters(sel: Selection) -> list[tuple[str, list[str]]]:
    """(column, allowed values) of each value filter, empty when it does not filter."""
    return [(column, getattr(sel, field)) for column, field in VALUE_FILTERS.items()]


def _filtered(scores: pd.DataFrame, sel: Selection) -> pd.DataFrame:
    """The rows the selection allows. A list ranked by value at risk leaves out customers
    with nothing at risk (every purchase refunded, say): contacting them saves nothing."""
    keep = scores["churn_probability"].between(sel.min_probability, sel.max_probability)
    if sel.sort == "value_at_risk":
        keep &= scores["value_at_risk"] > 0
    for column, allowed in filters(sel):
        if allowed:
            keep &= scores[column].isin(allowed)
    if sel.within_days is not None:  # likely to buy soon, and more likely to buy than to leave
        keep &= scores["order_probability"] >= sel.min_order_probability
        keep &= scores["order_probability"] > scores["churn_probability"]
    return scores[keep]


def reach(sel: Selection, control_share: float) -> int | None:
    """How far down the ranking a list first looks: its top, or enough rows for its budget's
    targets and the controls among them (None: the whole selection)."""
    if sel.top is not None:
        return sel.top
    if sel.budget is not None:
        return int(sel.budget / max(1 - control_share, 0.01) * 1.1) + 100
    return None


def build_list(
    scores: pd.DataFrame, list_id: str, sel: Selection, control_share: float
) -> pd.DataFrame:
    """Ranked list with `group` and `contact`. Ties are broken by customer_id, so two runs
    give identical files; with a budget, rows are added until the target group fills it.
    Only the head of the ranking that the list can reach is sorted and drawn, so a list from
    millions of scores costs what the list costs (doubling the head when a budget needs it)."""
    if sel.sort not in RANK_KEYS:
        raise ValueError(f"sort must be one of {', '.join(RANK_KEYS)}")
    candidates = _filtered(scores, sel)
    need = reach(sel, control_share)
    while True:
        picked = _ranked_head(candidates, sel.sort, need)
        if sel.top is not None:
            picked = picked.head(sel.top)
        picked = picked.reset_index(drop=True)
        control = control_draw(picked["customer_id"], list_id) < control_share
        complete = len(picked) == len(candidates) or sel.top is not None
        if sel.budget is None or complete or int((~control).sum()) > sel.budget:
            break
        need = 2 * len(picked)  # the budget's targets (and the controls after them) go further
    if sel.budget is not None:
        within = np.cumsum(~control) <= sel.budget
        picked, control = picked[within].reset_index(drop=True), control[within]
    head = pd.DataFrame(
        {
            "list_id": list_id,
            "rank": np.arange(1, len(picked) + 1),
            "group": np.where(control, "control", "target"),
            "contact": np.where(control, "no - control group", "yes"),
        }
    )
    return pd.concat([head, _rounded(picked)], axis=1)


def _ranked_head(rows: pd.DataFrame, key: str, need: int | None) -> pd.DataFrame:
    """`rows` by `key` descending, ties by customer_id; with `need`, only the first `need` in
    that order and every row tied with the last of them (the same head a full sort gives)."""
    if need is not None and 0 < need < len(rows):
        values = rows[key].to_numpy(dtype=float)
        cut = -np.partition(-values, need - 1)[need - 1]  # the need-th largest
        if not np.isnan(cut):
            rows = rows[values >= cut]
    return rows.sort_values([key, "customer_id"], ascending=[False, True])


def _rounded(listed: pd.DataFrame) -> pd.DataFrame:
    """Probabilities to 0.1 %, days to a tenth, money to cents; scoring time to the second."""
    listed = listed.round({c: d for c, d in DECIMALS.items() if c in listed})
    if "scored_at" in listed:
        listed["scored_at"] = pd.to_datetime(listed["scored_at"]).dt.floor("s")
    return listed


def value_tier_wording(tiers: dict[str, float]) -> str:
    """What the value tiers of the settings mean ('platinum top 1 %, gold next 4 %, ...'),
    from their cumulative shares, so the words follow the settings."""
    parts, before = [], 0.0
    for k, (name, share) in enumerate(tiers.items()):
        width = f"{round((share - before) * 100, 4):g} %"
        parts.append(
            f"{name} the rest" if k == len(tiers) - 1 and k else
            f"{name} (everyone)" if k == len(tiers) - 1 else
            f"{name} top {width}" if k == 0 else f"{name} next {width}"
        )  # fmt: skip
        before = share
    return f"Customer pyramid by last-12-month spend net of refunds: {', '.join(parts)}."


def description_sheet(
    listed: pd.DataFrame, facts: dict[str, str], value_tiers: dict[str, float]
) -> pd.DataFrame:
    """Second XLSX sheet: what every column means, then the list's provenance."""
    meaning = {**COLUMN_DESCRIPTIONS, "value_tier": value_tier_wording(value_tiers)}
    rows = [(c, meaning.get(c, "")) for c in listed.columns]
    rows += [("", ""), *facts.items()]
    return pd.DataFrame(rows, columns=["column", "description"])
