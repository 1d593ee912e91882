"""The gate on a steady generated world, a month apart: the champion (data to 2025-05-01) and
the challenger (data to 2025-06-01) are judged on the customers active at 2025-05-01 and
whether they ordered by 2025-06-01, which neither was fitted on; the figures at the shared
evaluation cutoff, whose labels the champion partly saw, favour the champion instead."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from pipelines.ingest.sources import load_source
from pipelines.settings import Settings
from pipelines.synthetic.campaign import generate_dataset
from pipelines.training.backtest import model_metrics
from pipelines.training.gate import Decision, compare
from pipelines.training.run import _tags
from pipelines.training.train import TrainResult, labelled_frame, train
from pipelines.training.window import judged_window
from pipelines.warehouse import connect

pytestmark = pytest.mark.integration
T = pd.Timestamp
SETTINGS = Settings(
    horizon_days=90, training_cutoffs=14, churn_max_trees=60
)  # some before the data


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("gate")
    generate_dataset(folder, 1_500, 520, 11, "2024-01-01", False)
    con = connect()
    load_source(con, folder)
    champion = train(con, SETTINGS, as_of=T("2025-05-01"))
    yield {
        "con": con,
        "champion": champion,
        "challenger": train(con, SETTINGS, as_of=T("2025-06-01")),
        "shuffled": train(con, SETTINGS, as_of=T("2025-06-01"), shuffle_labels=True),
        "tags": {
            "data_end": "2025-05-01",
            "data_end_at": champion.data_end.isoformat(),
            "last_training_cutoff": str(champion.training_window[1].date()),
        },
    }
    con.close()


def _judge(world: dict, who: str, tags: dict | None = None):
    result: TrainResult = world[who]

    def rows_at(cutoffs: list[pd.Timestamp]) -> pd.DataFrame:
        return labelled_frame(world["con"], cutoffs, result.data_end, SETTINGS)[0]

    return compare(result, world["champion"].scorer, tags or world["tags"], SETTINGS, rows_at)


def _active_and_ordered(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """From the raw orders: customers with a completed order in the year before 2025-05-01,
    and how many of them ordered again before 2025-06-01."""
    orders = con.sql("SELECT customer_id, ordered_at, status FROM orders").df()
    done = orders[orders["status"] == "completed"]
    start = T("2025-05-01")
    active = set(done.loc[done["ordered_at"].between(start - pd.Timedelta(days=365), start,
                                                       inclusive="left"), "customer_id"])  # fmt: skip
    later = done[(done["ordered_at"] >= start) & (done["ordered_at"] < T("2025-06-01"))]
    return len(active), len(active & set(later["customer_id"]))


@pytest.fixture(scope="module")
def decision(world: dict):
    return _judge(world, "challenger")


def test_the_window_starts_at_the_champion_data_end_and_is_counted_from_the_raw_orders(
    world: dict, decision
) -> None:
    customers, ordered = _active_and_ordered(world["con"])
    assert decision.window == {
        "basis": "after the champion's data end",
        "start": "2025-05-01",
        "end": "2025-06-01",
        "observed_days": 31,
        "customers": customers,
        "ordered": ordered,
        "champion_data_end": "2025-05-01",
        "challenger_cutoffs": "2024-02-01 .. 2025-01-01 (12)",  # horizons end by 2025-05-01
    }
    assert f"judged on {customers:,} customers active at 2025-05-01" in decision.reason
    assert "no order in the 31 days to 2025-06-01" in decision.reason
    # the event judged is "no order within 31 days": its base rate is the window's
    assert decision.challenger["churn_base_rate"] == pytest.approx(1 - ordered / customers)


def test_a_steady_world_a_month_later_is_promoted_on_the_window(decision) -> None:
    """Same recipe, same labels before the window: as good as the champion there."""
    assert decision.promoted, decision.reason
    assert decision.challenger["churn_roc_auc"] > 0.6
    assert abs(decision.challenger["churn_brier"] - decision.champion["churn_brier"]) <= 0.002


def test_at_the_shared_evaluation_cutoff_the_overlap_favours_the_champion(world: dict) -> None:
    """What the gate used to compare: at 2025-03-01 the challenger was fitted on cutoffs up to
    2024-12-01, the champion on cutoffs up to 2025-01-01 with labels to 2025-05-01: it has
    seen two of the three months of 2025-03-01's horizon."""
    result = world["challenger"]
    assert result.evaluation_cutoff == T("2025-03-01")
    champion, _ = model_metrics(world["champion"].scorer, result.validation.reset_index(drop=True))
    assert champion["churn_brier"] < result.metrics["model"]["churn_brier"]


def test_a_challenger_trained_on_shuffled_outcomes_is_refused_on_the_window(world: dict) -> None:
    refused = _judge(world, "shuffled")
    assert not refused.promoted and refused.window["start"] == "2025-05-01"
    assert refused.reason.startswith(("PR-AUC worse", "Brier score worse")), refused.reason


def test_a_window_too_short_falls_back_to_the_evaluation_cutoff_and_says_so(world: dict) -> None:
    """A champion with data to 2025-05-20 (as if retrained twelve days ago)."""
    tags = {**world["tags"], "data_end": "2025-05-20", "data_end_at": "2025-05-20T00:00:00"}
    fallback = _judge(world, "challenger", tags)
    assert fallback.window["basis"].startswith("fallback: only 12 days observed")
    assert "fallback: judged at the newest labelled cutoff 2025-03-01" in fallback.reason
    assert "which favours it" in fallback.reason


def test_a_champion_with_all_the_data_cannot_be_judged(world: dict) -> None:
    tags = {
        **world["tags"],
        "data_end_at": "2025-06-01T00:00:00",
        "last_training_cutoff": "2025-03-01",
    }
    with pytest.raises(ValueError, match="no window after its data end can judge it"):
        _judge(world, "challenger", tags)


def test_each_model_answers_with_the_probability_its_scores_carry(world: dict) -> None:
    """P(order within 30 days) on the window is the scores table's order_probability_30d."""
    scorer = world["champion"].scorer
    rows = labelled_frame(world["con"], [T("2025-05-01")], T("2025-06-01"), SETTINGS)[0]
    window = judged_window(scorer, rows, 30)
    scores = scorer.score(rows, T("2025-05-01"), T("2025-05-01"), "1", with_reasons=False)
    assert window.order_probability(0.0) == pytest.approx(scores["order_probability_30d"])
    assert window.ordered.sum() < len(rows)


def test_versions_are_tagged_with_their_cutoffs_within_the_data(world: dict, decision) -> None:
    """The champion's 14 cutoffs run from 2023-12-01; the data start on 2024-01-01, so its
    training window starts at its first cutoff with customers, 2024-02-01."""
    champion = world["champion"]
    assert champion.training_window == (T("2024-02-01"), T("2025-01-01"))
    tags = _tags(champion, Decision(True, "no champion yet"))
    assert tags["training_window"] == "2024-02-01 .. 2025-01-01"
    assert (tags["data_end"], tags["data_end_at"]) == ("2025-05-01", "2025-05-01T00:00:00")
    assert _tags(world["challenger"], decision)["gate_window"].startswith("2025-05-01 +31d, ")
