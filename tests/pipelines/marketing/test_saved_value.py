"""Ranking by saved value on stored scores and features: who is moved goes first, the
control group is drawn as for any list, and a refused model is never used."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.files import write_table
from pipelines.home import Home, open_registry
from pipelines.marketing.lists import Selection, control_draw
from pipelines.marketing.outcomes import read_campaign, tallies
from pipelines.marketing.saved_value import load, ranked_by_saved_value, register, train_and_judge
from pipelines.settings import load_settings
from pipelines.warehouse import connect
from tests.cli_helpers import own_home, run_ok
from tests.uplift_world import toy_campaign, toy_features


def test_the_moved_customers_rank_first_and_the_control_group_stays(tmp_path) -> None:
    outcomes = pd.concat([toy_campaign("c1", "2025-01-01", 1), toy_campaign("c2", "2025-04-01", 2)])
    judged = train_and_judge(outcomes, bags=3)
    assert judged.refused is None
    settings = load_settings(home=tmp_path)
    features = toy_features(400, 9)
    scores = features[["customer_id"]].assign(
        churn_probability=0.5, expected_value=100.0, value_at_risk=50.0,
        as_of=pd.Timestamp("2025-07-01"), model_version="1",
    )  # fmt: skip
    write_table(scores, Home.of(settings).scores)
    write_table(features, Home.of(settings).features)
    listed = ranked_by_saved_value(settings, Selection(top=100), "next", judged.model)
    assert len(listed) == 100 and listed["saved_value"].is_monotonic_decreasing
    top = features.set_index("customer_id").loc[listed["customer_id"]]
    assert (top["complaints_total"] == 0).mean() > 0.9 and (top["tenure_days"] > 300).mean() > 0.8
    assert (listed["uplift_low"] <= listed["uplift"]).all()
    assert (listed["uplift"] <= listed["uplift_high"]).all()
    expected = np.where(control_draw(listed["customer_id"], "next") < 0.1, "control", "target")
    assert (listed["group"].to_numpy() == expected).all()


def test_the_uplift_model_is_versioned_in_mlflow_and_gated(tmp_path, monkeypatch) -> None:
    """Every trained model is a version of <model_name>-uplift with its figures; one that
    ranks no better than random is refused (one line) and never becomes the champion;
    `retain campaigns train` on collected campaigns registers the next and says its verdict."""
    own_home(monkeypatch, tmp_path)
    settings = load_settings()
    none = [
        toy_campaign("n1", "2025-01-01", 3, effect=0.0),
        toy_campaign("n2", "2025-04-01", 4, effect=0.0),
    ]
    flat = train_and_judge(pd.concat(none), bags=2)
    assert flat.refused is not None and "\n" not in flat.refused
    assert register(settings, flat) == "1"
    model, reason = load(settings)
    assert model is None and reason == f"uplift version 1 refused: {flat.refused}"

    collected = pd.concat(
        [toy_campaign("c1", "2025-01-01", 1), toy_campaign("c2", "2025-04-01", 2)]
    )
    Home.of(settings).root.mkdir(parents=True)
    con = connect(Home.of(settings).warehouse)
    con.register("collected", collected)
    con.execute("CREATE TABLE campaign_outcomes AS SELECT * FROM collected")
    con.execute("CREATE TABLE orders (customer_id VARCHAR)")
    con.close()
    said = run_ok("campaigns", "train")
    assert "held out c2: Qini +0." in said and "calibrated in 5 of 5 quintiles" in said
    assert "uplift model version 2: champion" in said
    registry = open_registry(settings, uplift=True)
    assert registry.champion_version() == "2" and registry.model_name == "retain-uplift"
    model, reason = load(settings)
    moved = train_and_judge(collected)
    rows = toy_features(50, 5)
    assert reason is None and model is not None
    assert np.allclose(model.predict(rows), moved.model.predict(rows))
    figures = registry.run_metrics("2")
    assert np.isclose(figures["uplift.qini_low"], moved.qini.low) and moved.qini.low > 0
    assert figures["uplift.calibration_within"] == 5
    assert {f"uplift.q{b}_observed_uplift" for b in range(1, 6)} <= set(figures)
    assert registry.version_tags("1")["promoted"] == "false"


def _collected(*campaigns: pd.DataFrame):
    con = connect()
    con.register("collected", pd.concat(campaigns, ignore_index=True))
    con.execute("CREATE TABLE campaign_outcomes AS SELECT * FROM collected")
    return con


def test_a_campaign_above_the_cap_is_read_as_the_same_stratified_sample() -> None:
    """Above `uplift_max_rows_per_campaign` a campaign is read as exactly that many rows, each
    group in its share, in the collected order, the same rows every time; below, whole."""
    big = toy_campaign("c1", "2025-01-01", 1, n=6000)
    con = _collected(big)
    (tally,) = tallies(con)
    rows = read_campaign(con, tally, 2000)
    assert len(rows) == 2000 and rows["customer_id"].is_unique
    held_back = int((rows["group"] == "control").sum())
    assert held_back == round(2000 * tally.held_back / tally.rows)
    position = pd.Series(range(len(big)), index=big["customer_id"])
    assert position.loc[rows["customer_id"]].is_monotonic_increasing
    pd.testing.assert_frame_equal(read_campaign(con, tally, 2000), rows)
    assert rows["customer_id"].tolist() != big["customer_id"].head(2000).tolist()  # not a head
    assert read_campaign(con, tally, 6000)["customer_id"].tolist() == big["customer_id"].tolist()


def test_training_and_judging_say_what_they_sampled(tmp_path, monkeypatch) -> None:
    """Small campaigns are learned from whole (`sampled` empty); large ones from the cap, and
    `retain campaigns train` says so for the campaign learned from and the one judged on."""
    campaigns = [toy_campaign("c1", "2025-01-01", 1, 12_000), toy_campaign("c2", "2025-04-01", 2)]
    assert train_and_judge(pd.concat(campaigns), bags=2).sampled == {}
    capped = train_and_judge(pd.concat(campaigns), bags=2, max_rows_per_campaign=10_000)
    assert capped.sampled == {"c1": (10_000, 12_000)} and capped.held_out == "c2"
    own_home(monkeypatch, tmp_path)
    monkeypatch.setenv("RETAIN_UPLIFT_MAX_ROWS_PER_CAMPAIGN", "10000")
    Home.of(load_settings()).root.mkdir(parents=True)
    con = _collected(*campaigns)
    con.execute(f"ATTACH '{Home.of(load_settings()).warehouse}' AS home")
    con.execute("CREATE TABLE home.campaign_outcomes AS SELECT * FROM campaign_outcomes")
    con.execute("CREATE TABLE home.orders (customer_id VARCHAR)")
    con.close()
    said = run_ok("campaigns", "train")
    assert "learned from 10,000 of 12,000 rows of c1 (a stratified sample" in said
    assert "judged on" not in said and "held out c2" in said
