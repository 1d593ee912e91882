"""Monthly retraining replayed on a steady generated world (no change in it): every retrain is
judged on the month after its champion's data end, which neither model was fitted on, so none
is refused for the champion having seen part of the outcomes; a challenger trained on
shuffled outcomes is still refused; `retain models list` shows what each version saw."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli_helpers import own_home, run_ok

pytestmark = pytest.mark.integration
MONTHS = ["2024-09-01", "2024-10-01", "2024-11-01"]


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("monthly")
    mp = pytest.MonkeyPatch()
    own_home(mp, root)
    mp.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    mp.setenv("RETAIN_CHURN_MAX_TREES", "60")
    run_ok("generate", "--out", str(root / "data"), "--customers", "1500", "--days", "760",
           "--start", "2023-01-01", "--seed", "5")  # fmt: skip
    run_ok("replay", "--data", str(root / "data"), "--from", MONTHS[0], "--months", "3",
           "--train-every", "1", "--out", str(root / "replay.md"))  # fmt: skip
    body = json.loads((root / "replay.json").read_text())
    body["table"] = (root / "replay.md").read_text()
    body["listed"] = run_ok("models", "list")
    yield body
    mp.undo()


def test_every_monthly_retrain_is_promoted(walk: dict) -> None:
    months = walk["months"]
    assert [m["trained"] for m in months] == ["1", "2", "3"]
    assert months[0]["decision"] == "no champion yet"
    for month in months[1:]:
        assert "trained on newer data" in month["decision"], month["decision"]
    assert [m["scored_by"] for m in months] == ["1", "2", "3"]


def test_each_retrain_is_judged_after_its_champion_data_end(walk: dict) -> None:
    """The champion of 2024-10-01 has data to 2024-09-01: the window is September, observed
    for 30 days; never a day before the champion's data end."""
    for before, month in zip(walk["months"], walk["months"][1:], strict=False):
        window = month["window"]
        assert window["basis"] == "after the champion's data end"
        assert window["champion_data_end"] == before["as_of"] == window["start"]
        assert window["end"] == month["as_of"]
        days = (pd.Timestamp(month["as_of"]) - pd.Timestamp(before["as_of"])).days
        assert window["observed_days"] == days
        assert window["customers"] >= 200 and 20 <= window["ordered"] <= window["customers"] - 20
        assert (
            f"judged on {window['customers']:,} customers active at {before['as_of']}"
            in (month["decision"])
        )


def test_a_challenger_trained_on_shuffled_outcomes_is_still_refused(walk: dict) -> None:
    gate = walk["gate"]
    assert gate["as_of"] == "2024-12-01"
    assert gate["broken_refused"] and "no better than chance" in gate["broken_reason"]
    assert gate["new_promoted"] and gate["rolled_back_to"] == "3"


def test_the_table_and_models_list_name_the_windows(walk: dict) -> None:
    assert "| judged on |" in walk["table"] and "| 2024-09-01 +30d, " in walk["table"]
    listed = walk["listed"]
    # version 1 (data to 2024-09-01): four cutoffs, the last one's horizon ending by then
    assert "2024-03-01 .. 2024-06-01" in listed
    october = walk["months"][2]["window"]["customers"]
    said = f"judged on {october:,} customers active at 2024-10-01: no order in the 31 days"
    assert "version 3: " in listed and said in listed
