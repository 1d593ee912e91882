"""The gate's window (pipelines.training.window): it starts at or after the champion's data
end, never before; it is observed up to this run's data end, at most a horizon; too short or
too thin a window is named; the judged challenger learns only labels that end by its start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.recent_rate import Window
from pipelines.settings import Settings
from pipelines.training.gate import window_text
from pipelines.training.window import (
    MIN_WINDOW_CUSTOMERS,
    MIN_WINDOW_DAYS,
    MIN_WINDOW_EVENTS,
    challenger_rows,
    choose_window,
    no_order_probability,
    too_short,
    too_thin,
)

T = pd.Timestamp


def test_monthly_retraining_is_judged_on_the_month_after_the_champion() -> None:
    window = choose_window(T("2024-10-01"), T("2024-11-01"), horizon_days=90)
    assert (window.start, window.observed_days, window.end) == (
        T("2024-10-01"),
        31,
        T("2024-11-01"),
    )
    assert "no order in the 31 days to 2024-11-01" in window.describe(2_345)
    assert "2,345 customers active at 2024-10-01" in window.describe(2_345)


def test_a_champion_whose_data_ends_within_a_day_is_judged_from_the_next_midnight() -> None:
    """Its data reached 13:00 on 2024-10-01: orders later that day may be in its labels."""
    window = choose_window(T("2024-10-01 13:00"), T("2024-11-01"), horizon_days=90)
    assert window.start == T("2024-10-02") and window.observed_days == 30


def test_a_quarter_later_the_window_is_a_whole_horizon_and_no_more() -> None:
    window = choose_window(T("2024-07-01"), T("2024-11-01"), horizon_days=90)
    assert (window.start, window.observed_days) == (T("2024-07-01"), 90)


def test_a_champion_trained_on_all_the_data_leaves_no_window() -> None:
    window = choose_window(T("2024-11-01"), T("2024-11-01"), horizon_days=90)
    assert window.observed_days == 0 and "only 0 days observed" in str(too_short(window))


@given(
    champion_end=st.datetimes(min_value=T("2020-01-01"), max_value=T("2030-01-01")),
    later_days=st.integers(-30, 400),
    horizon=st.integers(7, 365),
)
def test_the_window_never_starts_before_the_champion_data_end(
    champion_end, later_days: int, horizon: int
) -> None:
    data_end = (T(champion_end) + pd.Timedelta(days=later_days)).normalize()
    window = choose_window(T(champion_end), data_end, horizon)
    assert T(champion_end) <= window.start < T(champion_end) + pd.Timedelta(days=1)
    assert 0 <= window.observed_days <= horizon
    assert window.observed_days == 0 or window.end <= data_end


def test_four_weeks_is_the_shortest_window() -> None:
    assert MIN_WINDOW_DAYS == 28
    short = choose_window(T("2025-02-04"), T("2025-03-03"), horizon_days=90)  # 27 days
    assert "only 27 days observed after the champion's data end 2025-02-04" in str(too_short(short))
    assert too_short(choose_window(T("2025-02-01"), T("2025-03-01"), horizon_days=90)) is None


def _rows(customers: int, ordered: int, days: int = 31) -> pd.DataFrame:
    """Customers at one cutoff; the first `ordered` ordered on day 3, the rest not by `days`."""
    seen = np.arange(customers) < ordered
    return pd.DataFrame(
        {
            "cutoff_at": T("2024-10-01"),
            "days_to_next_order": np.where(seen, 3.0, float(days)),
            "next_order_censored": ~seen,
        }
    )


def test_too_few_customers_or_outcomes_are_named() -> None:
    window = choose_window(T("2024-10-01"), T("2024-11-01"), horizon_days=90)
    few = MIN_WINDOW_CUSTOMERS - 1
    assert f"{few} customers active at 2024-10-01" in str(too_thin(window, _rows(few, 50)))
    one_sided = too_thin(window, _rows(1_000, MIN_WINDOW_EVENTS - 1))
    assert f"{MIN_WINDOW_EVENTS - 1} of 1,000 customers ordered" in str(one_sided)
    assert too_thin(window, _rows(1_000, 400)) is None


def test_an_order_on_the_data_end_is_not_in_the_window() -> None:
    """An order 31 days after the start is at the data end: not seen, the customer did not
    order within the 31 days."""
    window = choose_window(T("2024-10-01"), T("2024-11-01"), horizon_days=90)
    rows = _rows(MIN_WINDOW_CUSTOMERS, MIN_WINDOW_EVENTS, days=31)
    rows.loc[rows.index[-MIN_WINDOW_EVENTS:], ["days_to_next_order", "next_order_censored"]] = (
        31.0,
        False,
    )
    assert too_thin(window, rows) is None  # 20 ordered, 180 did not (20 of them on day 31)
    rows.loc[rows.index[:1], "days_to_next_order"] = 31.0
    assert "19 of 200 customers ordered" in str(too_thin(window, rows))


def test_the_judged_challenger_learns_only_labels_that_end_by_the_window_start() -> None:
    """Window from 2024-10-01, 90-day horizon: 2024-07-01's labels end on 2024-09-29 (kept),
    2024-08-01's on 2024-10-30 (not); the newest four are kept."""
    months = pd.date_range("2023-10-01", "2024-09-01", freq="MS")
    frame = pd.DataFrame({"cutoff_at": months, "churned": 0.0})
    frame.loc[frame["cutoff_at"] == T("2024-09-01"), "churned"] = np.nan  # not labelled yet
    chosen = challenger_rows(frame, T("2024-10-01"), Settings(horizon_days=90, training_cutoffs=4))
    assert list(chosen["cutoff_at"]) == list(pd.date_range("2024-04-01", "2024-07-01", freq="MS"))


@pytest.mark.parametrize(
    ("window", "shown"),
    [
        (None, ""),
        (
            {"basis": "after the champion's data end", "start": "2024-10-01",
             "observed_days": 31, "customers": 2345},
            "2024-10-01 +31d, 2,345 customers",
        ),
        (
            {"basis": "fallback: only 12 days observed", "start": "2024-07-01", "customers": 99},
            "fallback: labelled cutoff 2024-07-01, 99 customers",
        ),
    ],
)  # fmt: skip
def test_what_a_decision_was_judged_on_reads_in_a_few_words(window, shown: str) -> None:
    assert window_text(window) == shown


def test_a_certain_order_over_a_whole_horizon_is_no_order_probability_zero_not_below() -> None:
    """P(churn) 0 and F(90 days) a rounding hair above 1: 1 - 1 x F is -2.2e-16, which
    scikit-learn's Brier score refuses; it is 0."""
    hair = 1 + np.finfo(float).eps
    window = Window(np.array([0.0, 0.25]), np.array([hair, 0.8]), np.array([True, False]))
    assert no_order_probability(window).tolist() == [0.0, pytest.approx(0.4)]
