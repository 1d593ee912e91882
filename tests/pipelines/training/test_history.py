"""How much history a model needs: the rule in one line, before any heavy work."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from features.frame import build_frame
from models.metrics import expected_calibration_error
from pipelines.ingest.sources import load_frames
from pipelines.settings import Settings
from pipelines.synthetic.generate import simulate
from pipelines.training.history import (
    History,
    enough,
    learnable_cutoffs,
    longest_horizon_now,
    months_needed,
    shortfall,
)
from pipelines.training.train import train
from pipelines.warehouse import connect
from tests.cli_helpers import own_home, run_main

JAN_4 = pd.Timestamp("2011-01-04")


def _settings(horizon_days: int = 90) -> Settings:
    return Settings(horizon_days=horizon_days)


def test_a_90_day_model_needs_two_training_cutoffs_and_two_horizons() -> None:
    """By hand, first order 4 Jan: cutoffs 1 Feb and 1 Mar; a validation cutoff 90 days after
    1 Mar is 1 Jun; its horizon ends 30 Aug. One day less and no model can be validated."""
    assert enough(History(JAN_4, pd.Timestamp("2011-08-30")), _settings())
    assert not enough(History(JAN_4, pd.Timestamp("2011-08-29")), _settings())
    assert learnable_cutoffs(
        History(JAN_4, pd.Timestamp("2011-08-30")), pd.Timestamp("2011-06-01"), _settings()
    ) == [pd.Timestamp("2011-02-01"), pd.Timestamp("2011-03-01")]
    assert months_needed(JAN_4, _settings()) == 8  # 238 days
    assert months_needed(pd.Timestamp("2010-12-01"), _settings()) == 9  # a December export


def test_seven_months_say_the_rule_what_the_data_has_and_what_it_allows() -> None:
    history = History(JAN_4, pd.Timestamp("2011-08-01"))
    line = shortfall(history, _settings())
    assert line is not None and "\n" not in line
    assert line.startswith("6.9 months of history (2011-01-04 to 2011-08-01)")
    assert "a 90-day model needs 8 months" in line
    assert "a 60-day model can be trained now (--horizon-days 60)" in line
    # by hand: 60 days -> validation 1 Jun, training cutoffs 1 Feb to 1 Apr; 65 days ->
    # validation 1 May, training cutoffs up to 1 Feb only
    assert longest_horizon_now(history, _settings()) == 60
    assert shortfall(History(JAN_4, pd.Timestamp("2011-09-01")), _settings()) is None


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    first_day=st.integers(0, 400),
    span_days=st.integers(0, 900),
    more_days=st.integers(0, 200),
    horizon=st.sampled_from([14, 30, 60, 90, 120]),
)
def test_more_history_never_takes_a_model_away(
    first_day: int, span_days: int, more_days: int, horizon: int
) -> None:
    first = pd.Timestamp("2020-01-01") + pd.Timedelta(days=first_day, hours=7)
    end = first + pd.Timedelta(days=span_days)
    settings = _settings(horizon)
    if enough(History(first, end), settings):
        assert enough(History(first, end + pd.Timedelta(days=more_days)), settings)
        assert span_days >= 2 * horizon  # a validation horizon after a training one
    else:
        assert shortfall(History(first, end), settings) is not None


def test_train_on_seven_months_exits_2_with_the_rule_before_building_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    own_home(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    tables = simulate(300, 215, 0, pd.Timestamp("2025-01-01"))
    (tmp_path / "data").mkdir()
    for name in ("orders", "complaints", "customers"):
        tables[name].to_parquet(tmp_path / "data" / f"{name}.parquet")
    code, out = run_main(monkeypatch, capsys, "train", "--data", "data", "--as-of", "2025-08-01")
    assert code == 2, out
    assert "Traceback" not in out
    (line,) = [x for x in out.splitlines() if "history" in x]
    assert "a 90-day model needs" in line and "can be trained now" in line
    assert not (tmp_path / "home" / "metrics.json").exists()
    assert "or this 90-day one with --partial-cutoffs" in line
    code, out = run_main(
        monkeypatch, capsys, "evaluate", "--as-of", "2025-04-01", "--out", "e.json"
    )
    assert code == 2 and "evaluating at" in out and "Traceback" not in out, out
    code, out = run_main(monkeypatch, capsys, "train", "--as-of", "2025-08-01", "--partial-cutoffs")
    assert code == 0, out
    said = " ".join(out.split())
    assert "trained with partial cutoffs" in said and "validated at 2025-05-01" in said


@pytest.mark.integration
def test_six_months_with_partial_cutoffs_are_calibrated_when_the_labels_mature() -> None:
    """A 90-day model on six months of a generated world (the rule asks for eight): its churn
    probabilities at the data end, checked 90 days later, are within 0.05 ECE (a model on 18
    months of the same world scored 0.051 at that cutoff, seed 1, 6,000 customers)."""
    as_of = pd.Timestamp("2025-07-01")
    tables = simulate(6_000, 181 + 120, 1, as_of - pd.Timedelta(days=181))
    con = connect()
    load_frames(con, {k: v for k, v in tables.items() if k != "truth"})
    settings = Settings(partial_cutoffs=True)
    result = train(con, settings, as_of)
    assert result.counts["partial_cutoffs"] == 1 and result.evaluation_cutoff < as_of
    matured = build_frame(con, [as_of], 365, 90, as_of + pd.Timedelta(days=119))
    scores = result.scorer.score(matured, as_of, as_of, "test", with_reasons=False)
    churned = matured["churned"].to_numpy(dtype=int)
    assert expected_calibration_error(churned, scores["churn_probability"].to_numpy()) <= 0.05
