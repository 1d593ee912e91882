"""A synthetic dataset, optionally with a campaign on a list's target group and its exact effect."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.labels import window_outcomes
from pipelines.errors import InputError
from pipelines.files import read_list, write_table
from pipelines.synthetic.generate import (
    Campaign,
    GeneratorParams,
    customer_ids,
    generation_meta,
    simulate,
    write_dataset,
)


@dataclass(frozen=True)
class EffectMix:
    """Heterogeneous effects of a contact, tied to traits the features can see (a share as in
    `Campaign.effect`: dropout x (1 - e), order rate x (1 + e) from the contact on).

    - sleeping dogs: customers who complained before the contact are annoyed by it:
      e = `sleeping_dog` < 0;
    - sure things: frequent buyers (mean gap < `frequent_days`) buy anyway: e = `sure_thing`;
    - persuadables: customers of long standing (tenure >= `tenure_days`) who buy slower
      than that: a contact brings them back, e = `persuadable`;
    - lost causes: the rest (newer customers), e = `lost_cause`, and every customer already
      gone at the contact, whatever their kind (a dropped-out customer orders in neither
      world): at the top of value at risk, moved by nothing.
    `EffectMix.none()` is the no-effect world (e = 0 for everyone)."""

    persuadable: float = 3.0
    sure_thing: float = 0.05
    sleeping_dog: float = -0.9
    lost_cause: float = 0.0
    frequent_days: float = 20.0
    tenure_days: float = 240.0

    @classmethod
    def none(cls) -> EffectMix:
        return cls(persuadable=0.0, sure_thing=0.0, sleeping_dog=0.0, lost_cause=0.0)

    def kinds(self, truth: pd.DataFrame, complaints: pd.DataFrame, at: pd.Timestamp) -> np.ndarray:
        """Each customer's kind at the contact, from the generator's truth (order rate, first
        order) and the complaints opened before it."""
        complained = truth["customer_id"].isin(
            complaints.loc[complaints["opened_at"] < at, "customer_id"]
        )
        tenure_days = (at - pd.to_datetime(truth["first_order_at"])) / pd.Timedelta(days=1)
        rate = truth["order_rate_per_day"].to_numpy(float)
        return np.select(
            [
                complained.to_numpy(),
                rate > 1 / self.frequent_days,
                tenure_days.to_numpy(float) >= self.tenure_days,
            ],
            ["sleeping_dog", "sure_thing", "persuadable"],
            "lost_cause",
        )

    def effects(self, kinds: np.ndarray) -> np.ndarray:
        shares = {k: float(getattr(self, k)) for k in KINDS}
        return pd.Series(kinds, dtype=object).map(shares).to_numpy(float)


KINDS = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog")


@dataclass(frozen=True)
class CampaignPlan:
    """Contact a list's target group on `date` (default: the list's as_of); with `mix`, the
    effect differs by customer (see EffectMix) instead of being `effect` for everyone."""

    list_path: Path
    effect: float = 0.3
    date: str | None = None
    readout_days: int = 90
    mix: EffectMix | None = None


@dataclass(frozen=True)
class WorldChange:
    """From `date` on, customers complain `complaints` times and drop out `dropout` times as
    often (a service failure, a price rise): the generator's known change in the world."""

    date: str
    complaints: float = 3.0
    dropout: float = 2.0

    def params(self, start: pd.Timestamp) -> dict[str, Any]:
        day = (pd.Timestamp(self.date) - start) / pd.Timedelta(days=1)
        return {
            "shift_day": day,
            "shift_complaints": self.complaints,
            "shift_dropout": self.dropout,
        }


@dataclass
class Generated:
    counts: dict[str, int]
    truth: dict[str, Any] | None  # the campaign's exact effect, when there was one


def generate_dataset(
    out: Path,
    customers: int,
    days: int,
    seed: int,
    start: str,
    csv: bool,
    plan: CampaignPlan | None = None,
    change: WorldChange | None = None,
    holiday_peak: float = 1.0,
    lines: bool = False,
) -> Generated:
    """Simulate and write the tables (+ truth and generation.json); with a plan, the campaign
    too and `campaign_truth.json` (the same seed without the campaign gives the exact effect);
    with the plan's mix, `campaign_truth.parquet` holds every customer's own true effect."""
    start_at = pd.Timestamp(start)
    params = replace(
        GeneratorParams(holiday_peak=holiday_peak), **(change.params(start_at) if change else {})
    )
    world = World(customers, days, seed, start_at, params)
    campaign, date = (None, None) if plan is None else _campaign(plan, customers, start_at)
    if lines and plan is not None:
        raise InputError(
            "--lines", "a campaign readout compares orders: generate it without --lines"
        )
    if plan is None or campaign is None or date is None:
        tables = world.simulate(lines=lines)
        write_dataset(tables, out, world.meta(), csv)
        return Generated({k: len(v) for k, v in tables.items() if not k.endswith("truth")}, None)
    until = date + pd.Timedelta(days=plan.readout_days)
    contacted = world.contact(campaign, date, until, plan.mix)
    write_dataset(contacted.tables, out, world.meta(), csv)
    targets = contacted.tables["customers"]["customer_id"][campaign.targets]
    truth = {
        "campaign_date": date.date().isoformat(),
        "effect_parameter": "per customer (mix)" if plan.mix else plan.effect,
        "readout_until": until.date().isoformat(),
        **true_effect(contacted.tables["orders"], contacted.without, targets, date, until),
    }
    (out / "campaign_truth.json").write_text(json.dumps(truth, indent=2))
    if contacted.per_customer is not None:
        write_table(contacted.per_customer, out / "campaign_truth.parquet")
    counts = {k: len(v) for k, v in contacted.tables.items() if k != "truth"}
    return Generated(counts, truth)


@dataclass
class Contacted:
    tables: dict[str, pd.DataFrame]  # the world with the campaign
    without: pd.DataFrame  # its orders without the campaign
    per_customer: pd.DataFrame | None  # each customer's true effect (with a mix)


@dataclass(frozen=True)
class World:
    """One simulated base: the same seed gives the same customers in every variant."""

    customers: int
    days: int
    seed: int
    start: pd.Timestamp
    params: GeneratorParams

    def simulate(
        self, campaign: Campaign | None = None, lines: bool = False
    ) -> dict[str, pd.DataFrame]:
        """The tables of this world (order lines with categories instead of orders: `lines`)."""
        return simulate(self.customers, self.days, self.seed, self.start, self.params,
                        campaign=campaign, lines=lines)  # fmt: skip

    def meta(self) -> dict[str, object]:
        return generation_meta(self.customers, self.days, self.seed, self.start, self.params)

    def contact(
        self,
        campaign: Campaign,
        date: pd.Timestamp,
        until: pd.Timestamp,
        mix: EffectMix | None = None,
    ) -> Contacted:
        """The world with `campaign`, the orders without it and, with a `mix`, each customer's
        true effect in [date, until): everyone contacted minus no one contacted. Randomness is
        keyed per customer, so the difference is exact, not a comparison of noisy runs."""
        base = self.simulate()
        if mix is None:
            return Contacted(self.simulate(campaign), base["orders"], None)
        kinds = mix.kinds(base["truth"], base["complaints"], date)
        campaign = replace(campaign, effect=mix.effects(kinds))
        everyone = replace(campaign, targets=np.ones(self.customers, dtype=bool))
        ids = base["customers"]["customer_id"]
        a = window_outcomes(self.simulate(everyone)["orders"], ids, date, until)
        b = window_outcomes(base["orders"], ids, date, until)
        per_customer = pd.DataFrame(
            {
                "customer_id": ids.to_numpy(),
                "kind": kinds,
                "effect_parameter": np.asarray(campaign.effect, dtype=float),
                "targeted": campaign.targets,
                "ordered_with_contact": a["ordered"].to_numpy(),
                "ordered_without_contact": b["ordered"].to_numpy(),
                "revenue_with_contact": a["revenue"].to_numpy(),
                "revenue_without_contact": b["revenue"].to_numpy(),
            }
        )
        per_customer["true_uplift_ordered"] = per_customer["ordered_with_contact"].astype(
            int
        ) - per_customer["ordered_without_contact"].astype(int)
        per_customer["true_uplift_revenue"] = (
            per_customer["revenue_with_contact"] - per_customer["revenue_without_contact"]
        )
        return Contacted(self.simulate(campaign), base["orders"], per_customer)


def _campaign(
    plan: CampaignPlan, customers: int, start: pd.Timestamp
) -> tuple[Campaign, pd.Timestamp]:
    """The list's target customers, contacted on the plan's date."""
    listed = read_list(plan.list_path, ("customer_id", "group"))
    when = pd.Timestamp(plan.date) if plan.date else pd.Timestamp(listed["as_of"].iloc[0])
    contacted = listed.loc[listed["group"] == "target", "customer_id"]
    targets = np.isin(customer_ids(customers), contacted.to_numpy(dtype=str))
    return Campaign(targets, (when - start) / pd.Timedelta(days=1), plan.effect), when


def true_effect(
    with_campaign: pd.DataFrame,
    without: pd.DataFrame,
    targets: pd.Series,
    since: pd.Timestamp,
    until: pd.Timestamp,
) -> dict[str, float]:
    """The campaign's exact effect on its target customers: the same customers in the world
    with the campaign minus the world without it (the generator shares their randomness)."""
    a = window_outcomes(with_campaign, targets, since, until)
    b = window_outcomes(without, targets, since, until)
    return {
        "target_customers": len(a),
        "share_ordered_with": float(a["ordered"].mean()),
        "share_ordered_without": float(b["ordered"].mean()),
        "true_effect_share_ordered": float(a["ordered"].mean() - b["ordered"].mean()),
        "true_effect_revenue_per_customer": float(a["revenue"].mean() - b["revenue"].mean()),
    }
