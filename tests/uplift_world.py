"""A small generated world with two campaigns on random control groups (tests of uplift).

Each campaign is simulated in its own variant of the same world (same seed): the customers
active on its date are listed, half held back by the stable hash, the target half contacted
with the mix's effects; `collect` then reads the outcomes from that variant's warehouse.
Features at a campaign date depend only on events before it, so they are the same in every
variant. The churn score for value at risk is a LightGBM classifier trained on a cutoff whose
90-day label matured before the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd

from features.frame import build_frame
from features.schema import FEATURE_COLUMNS
from models.boosting import FeatureEncoder, predict, train_booster
from pipelines.ingest.sources import load_frames
from pipelines.marketing.lists import control_draw
from pipelines.marketing.outcomes import collect, read_outcomes, snapshot
from pipelines.synthetic.campaign import EffectMix, World
from pipelines.synthetic.generate import Campaign, GeneratorParams
from pipelines.warehouse import connect

START = pd.Timestamp("2024-01-01")
DAYS = 730
READOUT_DAYS = 90
DATES = (pd.Timestamp("2025-02-01"), pd.Timestamp("2025-07-01"))


@dataclass
class Run:
    outcomes: pd.DataFrame  # collected rows (features, group, ordered, spend_net)
    truth: pd.DataFrame  # per-customer true effect (campaign_truth.parquet's columns)
    value: pd.Series  # value per customer (net spend over the last 12 months / 4)
    churn: pd.Series  # churn probability at the campaign date


def _warehouse(tables: dict[str, pd.DataFrame]):
    con = connect()
    load_frames(con, {k: v for k, v in tables.items() if k != "truth"})
    return con


def _churn(con, date: pd.Timestamp, now: pd.DataFrame) -> np.ndarray:
    cutoffs = [date - pd.Timedelta(days=d) for d in (100, 130, 160)]
    train = build_frame(con, cutoffs, 365, READOUT_DAYS, date).dropna(subset=["churned"])
    features = tuple(c for c in FEATURE_COLUMNS if c in train)
    encoder = FeatureEncoder(features).fit(train)
    params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15}
    booster = train_booster(
        params, encoder.transform(train), train["churned"].to_numpy(float), encoder, 150
    )
    return predict(booster, encoder.transform(now))


def toy_features(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"S{seed}-{i:05d}" for i in range(n)],
            "tenure_days": rng.uniform(0, 600, n),
            "complaints_total": rng.poisson(0.4, n).astype(float),
        }
    )


def toy_campaign(
    list_id: str, day: str, seed: int, n: int = 3000, effect: float = 1.0
) -> pd.DataFrame:
    """A toy campaign on two feature columns with known effects: long-standing customers without complaints are moved (+0.35), those
    who complained are put off (-0.25), the rest not at all (all times `effect`)."""
    rows = toy_features(n, seed)
    rng = np.random.default_rng(seed + 100)
    contacted = control_draw(rows["customer_id"], list_id) >= 0.5
    uplift = np.select(
        [rows["complaints_total"] > 0, rows["tenure_days"] > 300], [-0.25, 0.35], 0.0
    )
    ordered = rng.random(n) < 0.4 + contacted * uplift * effect
    return rows.assign(
        list_id=list_id, as_of=pd.Timestamp(day), campaign_type="winback",
        group=np.where(contacted, "target", "control"), ordered=ordered,
    )  # fmt: skip


def run_campaign(
    k: int, mix: EffectMix, customers: int = 8000, seed: int = 7, control_share: float = 0.5
) -> Run:
    date = DATES[k]
    world = World(customers, DAYS, seed, START, GeneratorParams())
    base = world.simulate()
    con = _warehouse(base)
    now = build_frame(con, [date], 365)
    churn = _churn(con, date, now)
    list_id = f"campaign-{k + 1}"
    listed = pd.DataFrame(
        {"list_id": list_id, "as_of": date, "customer_id": now["customer_id"].astype(str)}
    )
    held_back = control_draw(listed["customer_id"], list_id) < control_share
    listed["group"] = np.where(held_back, "control", "target")
    snap = snapshot(listed, now, "winback")
    ids = base["customers"]["customer_id"]
    targets = ids.isin(listed.loc[~held_back, "customer_id"]).to_numpy()
    campaign = Campaign(targets, (date - START) / pd.Timedelta(days=1), 0.0)
    until = date + pd.Timedelta(days=READOUT_DAYS)
    made = world.contact(campaign, date, until, mix)
    assert made.per_customer is not None
    con = _warehouse(made.tables)
    with TemporaryDirectory() as folder:
        saved = Path(folder) / f"{list_id}.parquet"
        snap.to_parquet(saved, index=False)
        collect(con, saved, date, until)
    outcomes = read_outcomes(con)
    value = now.set_index(now["customer_id"].astype(str))["spend_365d"].fillna(0) / 4
    truth = made.per_customer.set_index("customer_id").loc[snap["customer_id"]]
    return Run(outcomes, truth, value, pd.Series(churn, index=value.index))
