"""The partly observed cutoff after the calibration fold (models.recent_rate): which one, what
it may know (orders before the data end only), and when it is left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.ingest.sources import load_source
from pipelines.settings import Settings
from pipelines.synthetic.campaign import WorldChange, generate_dataset
from pipelines.training.backtest import (
    MIN_RECENT_DAYS,
    learned_cutoffs,
    recent_cutoff,
    recent_rows,
    training_cutoffs,
)
from pipelines.training.run import recent_params
from pipelines.training.train import train
from pipelines.warehouse import connect

T = pd.Timestamp


def test_the_recent_cutoff_is_the_month_after_the_last_labelled_one() -> None:
    settings = Settings(training_cutoffs=12, horizon_days=90)
    # data end 2025-06-01: last labelled 2025-03-01 (+90 days = 2025-05-30); next 2025-04-01
    assert recent_cutoff(T("2025-06-01"), settings) == T("2025-04-01")


def test_a_cutoff_observed_for_too_few_days_is_not_used() -> None:
    settings = Settings(training_cutoffs=12, horizon_days=30)
    # data end 2025-06-10: last labelled 2025-05-01; 2025-06-01 was seen for 9 days only
    assert recent_cutoff(T("2025-06-10"), settings) is None


@given(
    end=st.dates(min_value=T("2001-01-01").date(), max_value=T("2040-12-31").date()),
    horizon=st.integers(30, 365),
    step=st.sampled_from([0, 7, 14, 30]),
)
def test_the_recent_cutoff_is_after_every_training_one_and_seen_long_enough(
    end, horizon, step
) -> None:
    settings = Settings(training_cutoffs=6, horizon_days=horizon, cutoff_step_days=step)
    recent = recent_cutoff(T(end), settings)
    if recent is not None:
        assert recent > training_cutoffs(T(end), settings)[-1]
        assert (T(end) - recent).days >= MIN_RECENT_DAYS


def _frame(cutoffs: list[pd.Timestamp], recent_days: list[float]) -> pd.DataFrame:
    """Labelled rows at `cutoffs`, then unlabelled rows at the last one with those days to
    the next order (NaN: none seen by the data end)."""
    labelled = pd.DataFrame(
        {"cutoff_at": cutoffs[:-1], "churned": 0.0, "days_to_next_order": 5.0}
    ).assign(next_order_censored=False)
    days = np.array(recent_days)
    recent = pd.DataFrame(
        {
            "cutoff_at": cutoffs[-1],
            "churned": np.nan,
            "days_to_next_order": np.where(np.isnan(days), 61.0, days),
            "next_order_censored": np.isnan(days),
        }
    )
    return pd.concat([labelled, recent], ignore_index=True)


def test_recent_rows_know_only_the_orders_before_the_data_end() -> None:
    settings = Settings(training_cutoffs=12, horizon_days=90)
    end = T("2025-06-01")
    months = list(pd.date_range("2024-01-01", "2025-04-01", freq="MS"))
    found = recent_rows(_frame(months, [3.0, 60.9, 61.0, np.nan]), end, settings)
    assert found is not None
    (rows, ordered), days = found
    assert days == 61 and rows["cutoff_at"].eq(T("2025-04-01")).all()
    assert ordered.tolist() == [True, True, False, False]  # day 61 is the data end: not seen


def test_no_recent_rows_when_the_coming_season_was_never_learned() -> None:
    """Four months of history: the weeks before the data end may be their season's, not a
    shift that lasts (the season warning says so instead)."""
    settings = Settings(training_cutoffs=12, horizon_days=90)
    months = list(pd.date_range("2025-01-01", "2025-04-01", freq="MS"))
    frame = _frame(months, [3.0, 10.0])
    assert learned_cutoffs(frame, T("2025-06-01"), settings) == months[:3]
    assert recent_rows(frame, T("2025-06-01"), settings) is None


def _trained(tmp_path, change: WorldChange | None):
    """`retain train` on 3,000 generated customers, data to 2025-06-01 (a change, if any, on
    2025-03-01: the calibration fold's features all predate it)."""
    generate_dataset(tmp_path, 3_000, 520, 7, "2024-01-01", False, change=change)
    con = connect()
    load_source(con, tmp_path)
    return train(con, Settings(horizon_days=90), as_of=T("2025-06-01"))


@pytest.mark.slow  # trains twice on 3,000 generated customers
def test_a_shift_since_the_fold_moves_the_level_and_a_steady_world_keeps_it(tmp_path) -> None:
    result = _trained(tmp_path / "shift", WorldChange("2025-03-01", complaints=3, dropout=4))
    shifted, found = result.scorer, result.scorer.recent_rate
    assert found is not None and found.observed_days == 61 and found.z < -2
    assert shifted.churn.level_shift_ == found.log_odds_shift < 0  # more churn than learned
    assert any("churn level moved by +" in note for note in result.notes)  # said at training
    logged = recent_params(result)  # and kept with the MLflow run
    assert logged["recent_log_odds_shift"] == round(found.log_odds_shift, 4)
    assert logged["recent_orders_observed"] == found.observed_orders
    steady = _trained(tmp_path / "steady", None).scorer
    assert steady.recent_rate is not None and abs(steady.recent_rate.z) <= 2
    assert steady.churn.level_shift_ == 0.0
