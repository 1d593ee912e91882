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
from pipelines.files import read_list
from pipelines.synthetic.generate import (
    Campaign,
    GeneratorParams,
    customer_ids,
    generation_meta,
    simulate,
    write_dataset,
)


@dataclass(frozen=True)
class CampaignPlan:
    """Contact a list's target group on `date` (default: the list's as_of)."""

    list_path: Path
    effect: float = 0.3
    date: str | None = None
    readout_days: int = 90


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
    too and `campaign_truth.json` (the same seed without the campaign gives the exact effect)."""
    start_at = pd.Timestamp(start)
    params = replace(
        GeneratorParams(holiday_peak=holiday_peak), **(change.params(start_at) if change else {})
    )
    campaign, date = (None, None) if plan is None else _campaign(plan, customers, start_at)
    if lines and plan is not None:
        raise InputError(
            "--lines", "a campaign readout compares orders: generate it without --lines"
        )
    tables = simulate(customers, days, seed, start_at, params, campaign=campaign, lines=lines)
    write_dataset(tables, out, generation_meta(customers, days, seed, start_at, params), csv)
    counts = {k: len(v) for k, v in tables.items() if not k.endswith("truth")}
    if plan is None or campaign is None or date is None:
        return Generated(counts, None)
    without = simulate(customers, days, seed, start_at, params)["orders"]
    targets = tables["customers"]["customer_id"][campaign.targets]
    until = date + pd.Timedelta(days=plan.readout_days)
    truth = {
        "campaign_date": date.date().isoformat(),
        "effect_parameter": plan.effect,
        "readout_until": until.date().isoformat(),
        **true_effect(tables["orders"], without, targets, date, until),
    }
    (out / "campaign_truth.json").write_text(json.dumps(truth, indent=2))
    return Generated(counts, truth)


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
