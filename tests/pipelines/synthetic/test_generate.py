"""The generator: deterministic, on contract, with ground truth that matters."""

from __future__ import annotations

import pandas as pd

from pipelines.ingest.sources import load_frames
from pipelines.synthetic.generate import simulate
from pipelines.warehouse import connect

START = pd.Timestamp("2024-01-01")


def test_same_seed_same_tables() -> None:
    a, b = simulate(500, 365, 11, START), simulate(500, 365, 11, START)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not simulate(500, 365, 12, START)["orders"].equals(a["orders"])


def test_tables_pass_the_contract_without_rejects() -> None:
    tables = simulate(800, 365, 1, START)
    reports = load_frames(connect(), {k: v for k, v in tables.items() if k != "truth"})
    assert all(r.set_aside == 0 and r.reconciles for r in reports)


def test_events_stay_inside_the_simulated_period() -> None:
    tables = simulate(800, 365, 2, START)
    end = START + pd.Timedelta(days=365)
    assert tables["orders"]["ordered_at"].between(START, end).all()
    complaints = tables["complaints"]
    assert (complaints["opened_at"] < end).all()
    resolved = complaints["resolved_at"].dropna()
    assert (resolved < end).all() and (
        resolved >= complaints.loc[resolved.index, "opened_at"]
    ).all()


def test_bad_complaints_shorten_lives() -> None:
    truth = simulate(5000, 730, 3, START)["truth"]
    with_bad = truth.loc[truth["bad_complaints"] > 0, "alive_at_end"].mean()
    without = truth.loc[truth["bad_complaints"] == 0, "alive_at_end"].mean()
    assert with_bad < without
