"""Hand-computed catalogue features on the tiny tables at cutoff 2024-03-01."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.frame import build_frame
from pipelines.ingest.sources import load_frames
from pipelines.warehouse import connect
from tests.conftest import CUTOFF, tiny_tables


@pytest.fixture
def frame() -> pd.DataFrame:
    tiny = tiny_tables()
    orders = tiny.orders.assign(
        discount_amount=[0, 10, 0, 0, 0, 0, 0, 0, 0],
        channel=["web", "web", "app", "web", "store", "store", "web", "web", "app"],
        category=["a", "b", "a", "a", "c", None, "a", "a", "a"],
    )
    complaints = tiny.complaints.assign(severity=[4, 2, 5], satisfaction=[None, 3, None])
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "segment": ["gold", "basic"],
            "signed_up_at": ["2023-12-01", "2024-06-01"],
        }
    )
    con = connect()
    load_frames(con, {"orders": orders, "complaints": complaints, "customers": customers})
    return build_frame(con, [CUTOFF], 365).set_index("customer_id")


def test_purchase_cycle(frame: pd.DataFrame) -> None:
    c1 = frame.loc["c1"]  # completed orders 2024-01-01, 02-01, 02-21: gaps 31 and 20 days
    assert c1["median_days_between_orders"] == 25.5
    assert c1["last_gap_days"] == 20.0
    assert c1["std_days_between_orders"] == pytest.approx(pd.Series([31.0, 20.0]).std())


def test_order_value_and_trend(frame: pd.DataFrame) -> None:
    c1 = frame.loc["c1"]
    assert (c1["avg_order_value"], c1["max_order_value"]) == (20.0, 30.0)
    assert c1["orders_180d"] == 3 and c1["spend_prev_90d"] == 0
    assert math.isnan(c1["spend_change_90d"])  # nothing to compare with
    assert c1["discount_share"] == pytest.approx(10 / 70)  # 10 off on 60 paid


def test_returns_and_mix(frame: pd.DataFrame) -> None:
    c2 = frame.loc["c2"]  # one completed, one returned order
    assert (c2["returns_total"], c2["cancellations_total"]) == (1, 0)
    assert c2["return_cancel_share"] == 0.5
    assert c2["returned_value_total"] == 50.0
    c1 = frame.loc["c1"]
    assert (c1["categories_total"], c1["channels_total"], c1["main_channel"]) == (2, 2, "web")


def test_complaint_history_uses_only_known_resolutions(frame: pd.DataFrame) -> None:
    c1 = frame.loc["c1"]  # k2 resolved in 2 days; k1's resolution (after the cutoff) is unknown
    assert c1["mean_resolution_days"] == 2.0
    assert c1["mean_satisfaction"] == 3.0
    assert (c1["max_severity"], c1["mean_severity"]) == (4, 3.0)
    assert c1["complaints_per_order"] == pytest.approx(2 / 3)
    assert math.isnan(frame.loc["c2", "mean_resolution_days"])  # k3 never resolved


def test_declared_attributes(frame: pd.DataFrame) -> None:
    assert frame.loc["c1", "segment"] == "gold"
    assert frame.loc["c1", "days_since_signup"] == 91.0
    assert math.isnan(frame.loc["c2", "days_since_signup"])  # signs up after the cutoff
    assert pd.isna(frame.loc["c4", "segment"])  # not in the customers table
