"""Half a year of operation replayed on generated history with a change in the world:
each month's scores name the version that made them, a challenger trained on shuffled
outcomes is refused, a proper one promoted, and a rollback gives back the previous champion's
exact scores."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.cli_helpers import own_home, run_ok
from tests.net_helpers import free_port, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("replay")
    mp = pytest.MonkeyPatch()
    own_home(mp, root)
    mp.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    run_ok("generate", "--out", str(root / "data"), "--customers", "2500", "--days", "900",
         "--start", "2023-01-01", "--shift-date", "2024-05-01", "--seed", "5")  # fmt: skip
    run_ok("replay", "--data", str(root / "data"), "--from", "2024-07-01", "--months", "6",
         "--train-every", "3", "--out", str(root / "replay.md"))  # fmt: skip
    monitored = CliRunner().invoke(app, ["monitor", "--out", str(root / "monitor.json")])
    assert monitored.exit_code in (0, 1), monitored.output  # 1: the signal says retrain
    body = json.loads((root / "replay.json").read_text())
    body["root"] = root
    yield body
    mp.undo()


def test_each_month_is_scored_by_the_champion_of_the_time(walk: dict) -> None:
    versions = [m["scored_by"] for m in walk["months"]]
    assert versions == ["1", "1", "1", "2", "2", "2"]
    assert [m["trained"] for m in walk["months"]] == ["1", "", "", "2", "", ""]
    assert "trained on newer data" in walk["months"][3]["decision"]


def test_every_month_is_kept_in_the_warehouse(walk: dict) -> None:
    con = duckdb.connect(str(walk["root"] / "home" / "warehouse.duckdb"), read_only=True)
    kept = con.execute(
        "SELECT strftime(as_of, '%Y-%m-%d'), any_value(model_version) FROM scores GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [m for m, _ in kept[:6]] == [m["as_of"] for m in walk["months"]]
    assert [v for _, v in kept[:6]] == ["1", "1", "1", "2", "2", "2"]


def test_a_broken_challenger_is_refused_and_rollback_is_exact(walk: dict) -> None:
    gate = walk["gate"]
    assert gate["broken_refused"] and "no better than chance" in gate["broken_reason"]
    assert gate["new_promoted"] and gate["rolled_back_to"] == "2"
    assert gate["rollback_scores_identical"]


def test_the_monitor_judges_every_month(walk: dict) -> None:
    """retain monitor at each month of the walk: a decision per month; before any run has
    matured (the first three months of a 90-day horizon) there is nothing to judge: ok."""
    assert len(walk["monitor"]) == 6 and set(walk["monitor"]) <= {"ok", "watch", "retrain"}
    assert walk["monitor"][:3] == ["ok", "ok", "ok"]


def test_the_table_is_written_for_the_docs(walk: dict) -> None:
    table = (walk["root"] / "replay.md").read_text()
    assert table.startswith("| month | scored by version |")
    assert "broken_refused: True" in table


def _evidently(url: str, path: str, body: dict | None = None) -> Any:
    reply = (
        httpx.post(url + path, json=body, timeout=30) if body else httpx.get(url + path, timeout=30)
    )
    assert reply.is_success, reply.text
    return reply.json()


def test_the_monitor_ui_serves_the_project_its_panels_and_each_run(walk: dict) -> None:
    """`retain monitor-ui` (what `make monitor-ui` runs) on the replay's workspace: the project
    "retain" found through Evidently's API, its panels, and one point per scoring run whose
    realized ROC-AUC equals monitor.json's."""
    root, port = walk["root"], free_port()
    env = {**os.environ, "RETAIN_HOME": str(root / "home")}
    command = [str(Path(sys.executable).parent / "retain"), "monitor-ui", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running(command, env, f"{url}/api/projects", root / "monitor-ui.log"):
        projects = _evidently(url, "/api/projects")
        project = next(p for p in projects if p["name"] == "retain")
        panels = _evidently(url, f"/api/v2/dashboards/{project['id']}")["panels"]
        titles = " | ".join(p["title"] for p in panels)
        assert "ROC-AUC" in titles and "Brier" in titles and "drifted features" in titles
        series = _evidently(url, f"/api/v2/snapshots/{project['id']}/data_series_batch", {
            "series_filter": [{"metric": "evidently:metric_v2:MeanValue", "tags": [],
                               "metadata": {}, "metric_labels": {"column": "realized_roc_auc"}}]
        })  # fmt: skip
    shown = {
        s["timestamp"][:10]: v
        for s, v in zip(series["sources"], series["series"][0]["values"], strict=True)
    }
    report = json.loads((root / "monitor.json").read_text())
    matured = {r["as_of"]: r["realized"]["roc_auc"] for r in report["runs"] if r["matured"]}
    assert matured and shown == pytest.approx(matured)


def test_a_second_monitor_adds_only_what_is_new(walk: dict) -> None:
    """Every run is in the workspace already: a nightly monitor on the same day adds none."""
    again = walk["root"] / "monitor-again.json"
    assert CliRunner().invoke(app, ["monitor", "--out", str(again)]).exit_code in (0, 1)
    assert json.loads(again.read_text())["recorded_in_workspace"] == 0


def test_matured_runs_are_judged_per_value_tier_too(walk: dict) -> None:
    report = json.loads((walk["root"] / "monitor.json").read_text())
    matured = [r for r in report["runs"] if r["matured"]]
    assert matured
    for run in matured:
        tiers = run["realized_by_value_tier"]
        assert set(tiers) <= {"platinum", "gold", "silver", "bronze"} and len(tiers) >= 2
        assert sum(t["customers"] for t in tiers.values()) == run["realized"]["customers"]
