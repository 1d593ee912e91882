"""The demo's campaign loop: two campaigns on random control groups run on the generated world
with its true effects, collected into the warehouse, and learned from."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.cli.common import settings_with
from pipelines.cli.demo_campaigns import CONTROL_SHARE, demo_world, run_campaign, run_campaigns
from pipelines.home import Home
from pipelines.ingest.sources import load_frames
from pipelines.marketing.lists import control_draw
from pipelines.marketing.outcomes import load_snapshot, read_outcomes
from pipelines.marketing.saved_value import train_and_judge
from tests.cli_helpers import own_home

WORLD = demo_world(6000, seed=3)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    """A home whose warehouse holds the world without campaigns, as after the demo's train."""
    root = tmp_path_factory.mktemp("demo_campaigns")
    mp = pytest.MonkeyPatch()
    own_home(mp, root)
    con = Home.of(settings_with()).open_warehouse("1GB")
    load_frames(con, {k: v for k, v in WORLD.simulate().items() if k != "truth"})
    con.close()
    yield root
    mp.undo()


def test_a_campaign_contacts_its_target_group_and_reads_what_followed(home) -> None:
    """Held back by the stable hash; the target group orders as the truth's contacted world,
    the control group as the world without the contact (the same customers' randomness)."""
    date = pd.Timestamp("2025-03-01")
    rows, truth = run_campaign(WORLD, "t-1", date, settings_with())
    held_back = control_draw(rows["customer_id"], "t-1") < CONTROL_SHARE
    assert (rows["group"] == "control").tolist() == held_back.tolist()
    assert 0.4 < held_back.mean() < 0.6
    truth = truth.set_index("customer_id").loc[rows["customer_id"]]
    contacted = (rows["group"] == "target").to_numpy()
    expected = truth["ordered_with_contact"].where(contacted, truth["ordered_without_contact"])
    assert rows["ordered"].astype(bool).tolist() == expected.astype(bool).tolist()
    assert truth["targeted"].tolist() == contacted.tolist()
    assert (rows["as_of"] == date).all() and (rows["readout_until"] == "2025-05-30").all()
    snap = load_snapshot(Home.of(settings_with()), "t-1")  # as a list's, for `collect`
    assert snap["customer_id"].tolist() == rows["customer_id"].tolist()


def test_the_two_campaigns_teach_an_uplift_model_that_beats_random(home) -> None:
    """Learned from the first campaign, judged on the second (time-later): Qini above 0."""
    run_campaigns(home, WORLD)
    con = Home.of(settings_with()).open_warehouse("1GB")
    outcomes = read_outcomes(con)
    con.close()
    assert sorted(outcomes["list_id"].unique()) == ["demo-campaign-1", "demo-campaign-2"]
    judged = train_and_judge(outcomes, bags=2)
    assert judged.trained_on == ["demo-campaign-1"] and judged.held_out == "demo-campaign-2"
    assert judged.qini.low > 0, vars(judged.qini)
    assert (home / "campaign-2_truth.parquet").exists()
