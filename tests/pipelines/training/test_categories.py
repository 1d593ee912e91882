"""The category curves on the generated world: better than the customer's own cycle."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.ingest.sources import load_frames
from pipelines.settings import Settings
from pipelines.synthetic.generate import simulate
from pipelines.training.backtest import training_cutoffs
from pipelines.training.categories import CATEGORIES_OFF, evaluate_categories, pair_frame
from pipelines.warehouse import connect

START = pd.Timestamp("2024-01-01")
AS_OF = pd.Timestamp("2025-09-01")


@pytest.fixture(scope="module")
def lines_world():  # type: ignore[no-untyped-def]
    tables = simulate(6_000, 730, 3, START, lines=True)
    con = connect()
    load_frames(con, {k: v for k, v in tables.items() if not k.endswith("truth")})
    return con


@pytest.mark.slow
def test_the_curve_beats_the_own_cycle_and_covers_80_percent(lines_world) -> None:
    settings = Settings()
    report = evaluate_categories(lines_world, settings, AS_OF, training_cutoffs(AS_OF, settings))
    assert report["status"] == "on"
    model, own = report["metrics"]["model"], report["metrics"]["own_cycle_baseline"]
    assert model["roc_auc_30d"] >= own["roc_auc_30d"] + 0.03
    assert model["brier_30d"] < own["brier_30d"]
    assert 0.75 <= model["interval_80_coverage"] <= 0.85


def test_pairs_are_bounded_by_the_settings(lines_world) -> None:
    settings = Settings(min_category_purchases=3, max_categories_per_customer=1)
    pairs = pair_frame(lines_world, [AS_OF], settings, with_outcomes=True)
    assert (pairs["purchases_total"] >= 3).all()
    assert not pairs.duplicated(["customer_id", "cutoff_at"]).any()
    later = pairs["days_to_next_purchase"].dropna()
    assert (later >= 0).all()  # the next purchase is at or after the cutoff, never before


def test_without_category_events_the_curves_are_off() -> None:
    con = connect()
    orders = simulate(300, 400, 1, START)["orders"]
    load_frames(con, {"orders": orders})
    report = evaluate_categories(con, Settings(), AS_OF, [AS_OF])
    assert report == {"status": CATEGORIES_OFF}
