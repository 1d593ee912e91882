"""Properties of the time rules: the future never reaches features, the past never labels."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.frame import build_frame
from features.schema import FEATURE_COLUMNS, LABEL_COLUMNS
from tests.conftest import CUTOFF, DATA_END, connect_tables, examples, tiny_tables

_START = pd.Timestamp("2023-01-01")
_SPAN_HOURS = int((DATA_END - _START) / pd.Timedelta(hours=1)) - 1

customers = st.sampled_from(["c1", "c2", "c3", "c4", "c5"])
hours = st.integers(min_value=0, max_value=_SPAN_HOURS)


@st.composite
def extra_orders(draw: st.DrawFn, before: bool) -> pd.DataFrame:
    rows = draw(st.lists(st.tuples(customers, hours, st.floats(0, 500)), max_size=8))
    out = []
    for i, (cust, h, amount) in enumerate(rows):
        at = _START + pd.Timedelta(hours=h)
        if before and at >= CUTOFF:
            at = CUTOFF - pd.Timedelta(hours=1 + h % 500)
        if not before and at < CUTOFF:
            at = CUTOFF + pd.Timedelta(hours=h % 2000)
        out.append((f"x{i}", cust, at.isoformat(sep=" "), round(amount, 2), "completed"))
    return pd.DataFrame(out, columns=["order_id", "customer_id", "ordered_at", "amount", "status"])


@st.composite
def extra_complaints(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(
        st.lists(
            st.tuples(customers, st.integers(0, 2000), st.none() | st.integers(0, 900)), max_size=5
        )
    )
    out = []
    for i, (cust, h, resolve_h) in enumerate(rows):
        opened = CUTOFF + pd.Timedelta(hours=h)
        resolved = (
            None if resolve_h is None else (opened + pd.Timedelta(hours=resolve_h)).isoformat()
        )
        out.append((f"y{i}", cust, opened.isoformat(), resolved))
    return pd.DataFrame(out, columns=["complaint_id", "customer_id", "opened_at", "resolved_at"])


def _features(orders: pd.DataFrame, complaints: pd.DataFrame) -> pd.DataFrame:
    con = connect_tables(orders, complaints)
    got = build_frame(con, [CUTOFF], 365, 90, DATA_END)
    con.close()
    return got.set_index("customer_id")


_SETTINGS = settings(
    max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_SETTINGS
@given(later=extra_orders(before=False), later_complaints=extra_complaints())
def test_events_at_or_after_cutoff_never_change_features(later, later_complaints):
    tiny = tiny_tables()
    base = _features(tiny.orders, tiny.complaints)
    moved = _features(
        pd.concat([tiny.orders, later]), pd.concat([tiny.complaints, later_complaints])
    )
    pd.testing.assert_frame_equal(base[list(FEATURE_COLUMNS)], moved[list(FEATURE_COLUMNS)])


@_SETTINGS
@given(earlier=extra_orders(before=True))
def test_events_before_cutoff_never_change_labels(earlier):
    tiny = tiny_tables()
    base = _features(tiny.orders, tiny.complaints)
    moved = _features(pd.concat([tiny.orders, earlier]), tiny.complaints)
    common = base.index.intersection(moved.index)
    pd.testing.assert_frame_equal(
        base.loc[common, list(LABEL_COLUMNS)], moved.loc[common, list(LABEL_COLUMNS)]
    )


@_SETTINGS
@given(data=st.data())
def test_removing_or_changing_events_after_cutoff_never_changes_features(
    data: st.DataObject,
) -> None:
    tiny = tiny_tables()
    base = _features(tiny.orders, tiny.complaints)
    orders = tiny.orders.copy()
    at_or_after = orders.index[pd.to_datetime(orders["ordered_at"], format="ISO8601") >= CUTOFF]
    drop = data.draw(st.lists(st.sampled_from(list(at_or_after)), unique=True))
    orders = orders.drop(index=drop)
    for i in orders.index.intersection(at_or_after):
        orders.loc[i, "amount"] = data.draw(st.floats(0, 1000))
        orders.loc[i, "status"] = data.draw(st.sampled_from(["completed", "returned", "cancelled"]))
    complaints = tiny.complaints.copy()
    complaints.loc[0, "resolved_at"] = data.draw(
        st.sampled_from(["2024-03-01", "2024-06-01", None])
    )
    moved = _features(orders, complaints)
    pd.testing.assert_frame_equal(base[list(FEATURE_COLUMNS)], moved[list(FEATURE_COLUMNS)])
