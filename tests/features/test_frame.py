"""Hand-computed features and labels on the tiny tables at cutoff 2024-03-01."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.frame import build_frame
from features.schema import FEATURE_COLUMNS, KEY_COLUMNS, LABEL_COLUMNS
from tests.conftest import CUTOFF, DATA_END


@pytest.fixture
def frame(tiny_con):
    got = build_frame(
        tiny_con, [CUTOFF], activity_window_days=365, horizon_days=90, data_end=DATA_END
    )
    return got.set_index("customer_id")


def test_columns_are_the_contract(frame):
    assert list(frame.reset_index().columns) == [*KEY_COLUMNS, *FEATURE_COLUMNS, *LABEL_COLUMNS]


def test_population_excludes_lapsed_customers(frame):
    assert sorted(frame.index) == ["c1", "c2", "c4"]  # c3's last order is 639 days old


def test_order_at_the_cutoff_is_excluded(frame):
    c1 = frame.loc["c1"]
    assert c1["orders_total"] == 3
    assert c1["spend_total"] == 60.0
    assert c1["days_since_last_order"] == 9.0  # 2024-02-21 -> 2024-03-01 (leap year)


def test_windows_and_cycle(frame):
    c1 = frame.loc["c1"]
    assert (c1["orders_30d"], c1["spend_30d"]) == (2, 50.0)  # o2 is 29 days old, o3 9
    assert (c1["orders_90d"], c1["spend_90d"]) == (3, 60.0)
    assert c1["tenure_days"] == 60.0
    assert c1["mean_days_between_orders"] == 25.5  # (60 - 9) / 2
    assert c1["overdue_ratio"] == pytest.approx(9 / 25.5)


def test_rates_over_tenure(frame):
    c1, c2 = frame.loc["c1"], frame.loc["c2"]
    assert c1["silent_share_of_tenure"] == pytest.approx(9 / 60)
    assert c1["orders_per_30d_tenure"] == pytest.approx(3 * 30 / 60)
    assert c1["spend_per_30d_tenure"] == pytest.approx(60 * 30 / 60)
    assert c2["silent_share_of_tenure"] == 1.0  # one order: silent since it


def test_returned_orders_do_not_count_and_single_order_has_no_cycle(frame):
    c2 = frame.loc["c2"]
    assert c2["orders_total"] == 1
    assert c2["days_since_last_order"] == 77.0
    assert math.isnan(c2["mean_days_between_orders"])
    assert math.isnan(c2["overdue_ratio"])


def test_resolution_after_cutoff_counts_as_open(frame):
    c1 = frame.loc["c1"]
    assert c1["open_complaints"] == 1  # k1 resolved 2024-03-05, after the cutoff
    assert c1["complaints_total"] == 2
    assert c1["complaints_90d"] == 1  # k2 is 121 days old
    assert c1["days_since_last_complaint"] == 20.0


def test_customer_without_complaints_has_zero_counts(frame):
    c4 = frame.loc["c4"]
    assert (c4["complaints_total"], c4["open_complaints"]) == (0, 0)
    assert math.isnan(c4["days_since_last_complaint"])


def test_labels(frame):
    assert frame.loc["c1", "churned"] == 0  # o4 exactly at the cutoff counts as next order
    assert frame.loc["c1", "days_to_next_order"] == 0.0
    assert frame.loc["c2", "days_to_next_order"] == 40.0
    assert frame.loc["c4", "churned"] == 1


def test_no_next_order_is_censored_not_invented(frame):
    c4 = frame.loc["c4"]
    assert bool(c4["next_order_censored"]) is True
    assert c4["days_to_next_order"] == 122.0  # data_end - cutoff, the time observed


def test_label_unknown_when_horizon_passes_data_end(tiny_con):
    late = pd.Timestamp("2024-05-01")
    got = build_frame(tiny_con, [late], 365, horizon_days=90, data_end=DATA_END)
    assert got["churned"].isna().all()


def test_many_cutoffs_in_one_pass_equal_single_cutoffs(tiny_con):
    cutoffs = [pd.Timestamp("2024-02-01"), CUTOFF]
    together = build_frame(tiny_con, cutoffs, 365, 90, DATA_END)
    apart = pd.concat([build_frame(tiny_con, [c], 365, 90, DATA_END) for c in cutoffs])
    pd.testing.assert_frame_equal(together.reset_index(drop=True), apart.reset_index(drop=True))


def test_scoring_frame_has_no_labels(tiny_con):
    got = build_frame(tiny_con, [CUTOFF], 365)
    assert not set(LABEL_COLUMNS) & set(got.columns)


def test_spend_in_the_horizon_label(frame):
    assert frame.loc["c1", "spend_next_horizon"] == 40.0  # o4 at the cutoff itself counts
    assert frame.loc["c2", "spend_next_horizon"] == 60.0  # o8 on 2024-04-10
    assert frame.loc["c4", "spend_next_horizon"] == 0.0
