"""Heterogeneous campaign effects: kinds tied to traits, an exact per-customer truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.synthetic.campaign import EffectMix, World
from pipelines.synthetic.generate import Campaign, GeneratorParams

START = pd.Timestamp("2024-01-01")
DATE = pd.Timestamp("2025-03-01")
UNTIL = DATE + pd.Timedelta(days=90)


def _contacted(mix: EffectMix, customers: int = 4000):
    world = World(customers, 540, 5, START, GeneratorParams())
    targets = np.random.default_rng(0).random(customers) < 0.5
    campaign = Campaign(targets, (DATE - START) / pd.Timedelta(days=1), 0.0)
    return world, world.contact(campaign, DATE, UNTIL, mix)


def test_kinds_move_the_way_they_are_named() -> None:
    _, made = _contacted(EffectMix())
    truth = made.per_customer
    assert truth is not None
    by_kind = truth.groupby("kind")["true_uplift_ordered"].mean()
    assert set(by_kind.index) == {"persuadable", "sure_thing", "lost_cause", "sleeping_dog"}
    assert by_kind["persuadable"] > 0.1 > 0.02 > by_kind["sure_thing"] >= 0
    assert by_kind["lost_cause"] == 0
    assert by_kind["sleeping_dog"] < -0.1
    revenue = truth.groupby("kind")["true_uplift_revenue"].mean()
    assert revenue["persuadable"] > 0 > revenue["sleeping_dog"]


def test_the_contacted_world_is_the_truth_for_targets_and_control_alike() -> None:
    """A target's orders in the campaign world are its 'with contact' outcome, a held-back
    customer's its 'without': the truth file and the observed world agree exactly."""
    from features.labels import window_outcomes

    _, made = _contacted(EffectMix())
    truth = made.per_customer
    assert truth is not None
    seen = window_outcomes(made.tables["orders"], truth["customer_id"], DATE, UNTIL)
    expected = np.where(
        truth["targeted"], truth["ordered_with_contact"], truth["ordered_without_contact"]
    )
    assert (seen["ordered"].to_numpy() == expected).all()
    keyed = ["customer_id", "ordered_at", "amount", "status"]  # the keyed draws
    before = [o.loc[o["ordered_at"] < DATE, keyed] for o in (made.tables["orders"], made.without)]
    pd.testing.assert_frame_equal(*before)  # nothing before the campaign changes


def test_a_world_without_effect_has_zero_truth() -> None:
    _, made = _contacted(EffectMix.none(), customers=1500)
    assert made.per_customer is not None
    assert (made.per_customer["true_uplift_ordered"] == 0).all()
    assert (made.per_customer["true_uplift_revenue"] == 0).all()
