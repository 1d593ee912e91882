"""The demo's campaign loop: two campaigns on random control groups are run on the generated
world with heterogeneous effects (the generator's truth), their outcomes collected, the uplift
model trained and judged, and the next list ranked by the value a contact saves.

Each campaign is simulated in its own variant of the demo's world (the same seed, so the same
customers and the same history before the campaign date): every customer known at the date is
listed, half held back by the stable hash, the target half contacted with `EffectMix`'s
effects. Its outcomes are read from that variant and kept in the demo's warehouse, as
`retain campaigns collect` keeps them (see docs/UPLIFT.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from features.frame import build_frame
from pipelines.cli import campaigns as campaign_cmds
from pipelines.cli import lists as list_cmds
from pipelines.cli.common import console, settings_with, warehouse
from pipelines.files import write_table
from pipelines.home import Home, open_registry
from pipelines.ingest.sources import load_frames
from pipelines.marketing.lists import control_draw
from pipelines.marketing.outcomes import collect, read_outcomes, save_snapshot, snapshot, store
from pipelines.settings import Settings
from pipelines.synthetic.campaign import EffectMix, World
from pipelines.synthetic.generate import Campaign, GeneratorParams, customer_ids
from pipelines.warehouse import connect

CAMPAIGN_DAYS_BEFORE_END = (330, 180)  # the two campaigns' dates, before the data's end
READOUT_DAYS = 90
CONTROL_SHARE = 0.5  # learning campaigns hold back more than the lists' default 10 %
CAMPAIGN_TYPE = "winback"
SAVED_VALUE_LIST = "saved_value_list.csv"


def campaign_steps(out: Path, world: World) -> list[tuple[str, Callable[[], None]]]:
    """The demo's steps after its other lists: run and collect two campaigns, learn from them,
    rank the next list by saved value."""
    return [
        ("two campaigns on random control groups", lambda: run_campaigns(out, world)),
        ("learn who a contact moves (uplift)", lambda: campaign_cmds.train()),
        (
            "next list ranked by saved value",
            lambda: list_cmds.risk_list(
                out=out / SAVED_VALUE_LIST,
                budget=1000,
                list_id="demo-next",
                rank_by=list_cmds.Ranking.saved_value,
                campaign_type=CAMPAIGN_TYPE,
            ),
        ),
    ]


def demo_world(customers: int, days: int = 730, seed: int = 0, start: str = "2024-01-01") -> World:
    """The world `retain generate` makes with these options (the demo's defaults)."""
    return World(customers, days, seed, pd.Timestamp(start), GeneratorParams())


def run_campaigns(out: Path, world: World) -> None:
    """Run, collect and keep the two campaigns (oldest first); each one's true effects go to
    `out/campaign-<k>_truth.parquet`."""
    settings = settings_with()
    end = world.start + pd.Timedelta(days=world.days)
    for k, before in enumerate(CAMPAIGN_DAYS_BEFORE_END, 1):
        list_id = f"demo-campaign-{k}"
        rows, truth = run_campaign(world, list_id, end - pd.Timedelta(days=before), settings)
        write_table(truth, out / f"campaign-{k}_truth.parquet")
        with warehouse(settings, None) as con:
            con.register("_collected", rows)
            store(con, "SELECT * FROM _collected", [list_id])
        bought = rows.groupby("group")["ordered"].mean()
        console.print(
            f"  {list_id} on {rows['as_of'].iloc[0].date()}: {len(rows):,} customers, "
            f"ordered within {READOUT_DAYS} days: target {bought['target']:.1%}, "
            f"control {bought['control']:.1%}"
        )


def run_campaign(
    world: World, list_id: str, date: pd.Timestamp, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One campaign's collected outcomes (snapshot columns, `ordered`, `spend_net`) and every
    customer's true effect, from the world's variant where the target group was contacted; its
    snapshot is kept under RETAIN_HOME/campaigns/ as a list's is."""
    ids = pd.Series(customer_ids(world.customers))
    held_back = control_draw(ids, list_id) < CONTROL_SHARE
    day = (date - world.start) / pd.Timedelta(days=1)
    until = date + pd.Timedelta(days=READOUT_DAYS)
    made = world.contact(Campaign(~held_back, day, 0.0), date, until, EffectMix())
    assert made.per_customer is not None  # a mix gives each customer's true effect
    con = connect()
    try:
        load_frames(con, {k: v for k, v in made.tables.items() if k != "truth"})
        features = build_frame(con, [date], settings.activity_window_days)
        listed = pd.DataFrame({"list_id": list_id, "as_of": date, "customer_id": ids,
                               "group": np.where(held_back, "control", "target")})  # fmt: skip
        listed = listed[listed["customer_id"].isin(features["customer_id"].astype(str))]
        saved = save_snapshot(Home.of(settings), snapshot(listed, features, CAMPAIGN_TYPE))
        collect(con, saved, date, until)
        rows = read_outcomes(con, list_ids=[list_id])
    finally:
        con.close()
    return rows, made.per_customer


def qini_line(out: Path) -> str:
    """Where the saved-value list is and the uplift champion's Qini on its held-out campaign."""
    registry = open_registry(settings_with(), uplift=True)
    champion = registry.champion_version()
    if champion is None:
        return f"{out / SAVED_VALUE_LIST} (no uplift champion: ranked by value at risk)"
    m = registry.run_metrics(champion)
    return (
        f"{out / SAVED_VALUE_LIST} (uplift version {champion}: Qini {m['uplift.qini']:+.4f}, "
        f"95 % {m['uplift.qini_low']:+.4f} to {m['uplift.qini_high']:+.4f} on the held-out "
        "campaign)"
    )
