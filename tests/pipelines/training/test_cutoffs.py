"""Rolling origin, hand-computed on a calendar: no training cutoff's horizon passes the
cutoff a scorer is evaluated at, and the evaluation cutoff's own labels are known."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.cutoffs import last_labelled_cutoff, season_coverage, season_warning
from pipelines.settings import Settings
from pipelines.training.backtest import training_cutoffs

T = pd.Timestamp


def test_last_labelled_cutoff_on_a_calendar() -> None:
    # data ends 2025-12-31 (the day after: 2026-01-01); minus 90 days = 2025-10-03 -> month start
    assert last_labelled_cutoff(T("2026-01-01"), 90) == T("2025-10-01")
    # 2025-01-01 + 90 days = 2025-04-01 (31 + 28 + 31): ending exactly there, it is labelled
    assert last_labelled_cutoff(T("2025-04-01"), 90) == T("2025-01-01")
    assert last_labelled_cutoff(T("2025-03-31"), 90) == T("2024-12-01")


def test_monthly_training_cutoffs_at_an_evaluation_cutoff() -> None:
    settings = Settings(training_cutoffs=3, horizon_days=90, cutoff_step_days=0)
    # v = 2025-09-01: the last cutoff whose 90 days end by v is 2025-06-01 (ends 2025-08-30)
    assert training_cutoffs(T("2025-09-01"), settings) == [
        T("2025-04-01"),
        T("2025-05-01"),
        T("2025-06-01"),
    ]


def test_weekly_training_cutoffs_at_an_evaluation_cutoff() -> None:
    settings = Settings(training_cutoffs=3, horizon_days=28, cutoff_step_days=7)
    assert training_cutoffs(T("2025-03-01"), settings) == [
        T("2025-01-18"),
        T("2025-01-25"),
        T("2025-02-01"),
    ]


@given(
    v=st.dates(
        min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2040-12-31").date()
    ),
    horizon=st.integers(1, 400),
    step=st.sampled_from([0, 1, 7, 14, 30]),
    count=st.integers(2, 24),
)
def test_no_training_horizon_passes_the_evaluation_cutoff(v, horizon, step, count) -> None:
    settings = Settings(training_cutoffs=count, horizon_days=horizon, cutoff_step_days=step)
    cutoffs = training_cutoffs(T(v), settings)
    assert len(cutoffs) == count and cutoffs == sorted(cutoffs)
    assert all(c + pd.Timedelta(days=horizon) <= T(v) for c in cutoffs)


@pytest.mark.parametrize("horizon", [30, 90, 91, 365])
def test_the_labelled_cutoff_is_labelled_and_the_latest_month_start(horizon: int) -> None:
    end = T("2025-07-15")
    c = last_labelled_cutoff(end, horizon)
    assert c + pd.Timedelta(days=horizon) <= end and c.day == 1
    assert (c + pd.DateOffset(months=1)) + pd.Timedelta(days=horizon) > end


def test_a_season_never_in_a_training_horizon_is_warned_about() -> None:
    """One year of history from January: training horizons end by September; a horizon
    from 1 September (to the end of November) was never seen."""
    cutoffs = [T("2025-02-01") + pd.DateOffset(months=k) for k in range(5)]  # Feb .. Jun
    assert season_coverage(cutoffs, 90, T("2025-09-01")) < 0.5
    assert "never learned" in (season_warning(cutoffs, 90, T("2025-09-01")) or "")
    a_year = [T("2024-01-01") + pd.DateOffset(months=k) for k in range(12)]
    assert season_coverage(a_year, 90, T("2025-09-01")) == 1.0
    assert season_warning(a_year, 90, T("2025-09-01")) is None
