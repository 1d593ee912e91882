"""Category curves end to end: order lines with categories through train, evaluate, score and
a category due list; and a line-level export without categories, which runs and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli_helpers import own_home, run_ok


@pytest.fixture
def lines_home(lines_world: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's trained and scored world of order lines with categories (conftest)."""
    own_home(monkeypatch, lines_world)
    monkeypatch.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    return lines_world


@pytest.mark.slow
@pytest.mark.integration
def test_category_due_list_lists_only_due_customers_with_cycle_reasons(lines_home: Path) -> None:
    assert "category curves:" in lines_home.joinpath("scored.txt").read_text()
    out = lines_home / "pet_food.csv"
    said = run_ok(
        "due-list", "--category", "pet food", "--within-days", "30",
        "--min-order-probability", "0.3", "--out", str(out),
    )  # fmt: skip
    assert "pet food due list" in said
    listed = pd.read_csv(out)
    assert len(listed) > 0 and (listed["category"] == "pet food").all()
    assert (listed["purchase_probability"] >= 0.3).all()
    assert listed["due_value"].is_monotonic_decreasing
    assert (
        listed["reasons"].str.fullmatch(r"buys pet food every \d+ days; last \d+ days? ago").all()
    )
    assert set(listed["group"]) <= {"target", "control"}


@pytest.mark.slow
@pytest.mark.integration
def test_the_scores_carry_each_customers_top_three_categories(lines_home: Path) -> None:
    """`next_categories` in the scores: the three categories of the kept curves most likely
    bought within 30 days, most likely first, with their probability and expected days."""
    scores = pd.read_parquet(lines_home / "home" / "scores" / "latest.parquet")
    curves = pd.read_parquet(lines_home / "home" / "scores" / "category_scores.parquet")
    cells = scores.set_index("customer_id")["next_categories"].map(json.loads)
    curves = curves[curves["customer_id"].isin(cells.index)]  # lapsed customers are not scored
    ranked = curves.sort_values(["probability_30d", "category"], ascending=[False, True])
    want = ranked.groupby("customer_id").head(3).groupby("customer_id")
    assert cells.map(len).max() == 3 and (cells.map(len) == 0).any()  # some buy no category
    assert set(cells[cells.map(len) > 0].index) == set(curves["customer_id"])
    for customer, rows in list(want)[:300]:
        got = cells[customer]
        assert [c["category"] for c in got] == list(rows["category"])
        assert [c["probability_30d"] for c in got] == list(rows["probability_30d"].round(4))
        assert [c["expected_days"] for c in got] == list(rows["expected_days"].round(1))


@pytest.mark.slow
@pytest.mark.integration
def test_evaluate_reports_the_category_curves(lines_home: Path) -> None:
    out = lines_home / "evaluation.json"
    said = run_ok("evaluate", "--as-of", "2025-09-01", "--out", str(out), "--earlier", "0")
    assert "category curves" in said and "own_cycle_baseline" in said
    categories = json.loads(out.read_text())["categories"]
    assert categories["status"] == "on"
    assert set(categories["metrics"]) == {"model", "own_cycle_baseline", "category_baseline"}


@pytest.mark.slow
@pytest.mark.integration
def test_lines_without_categories_run_and_say_why_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Order lines without `category` and without a map: train, score and a due list run (exit
    0), the import says once that the category features and curves are off and why, and the
    scores name no categories."""
    own_home(monkeypatch, tmp_path)
    monkeypatch.setenv("RETAIN_TRAINING_CUTOFFS", "3")
    data = tmp_path / "data"
    run_ok("generate", "--out", str(data), "--customers", "1500", "--seed", "4", "--lines")
    lines = pd.read_parquet(data / "order_lines.parquet").drop(columns="category")
    lines.to_parquet(data / "order_lines.parquet")
    said = run_ok("train", "--data", str(data))
    assert said.count("category features and curves are off") == 1
    assert "no category and no" in said  # why
    scored = run_ok("score")
    assert "category curves off" in scored and "category features" not in scored
    scores = pd.read_parquet(Path(tmp_path) / "home" / "scores" / "latest.parquet")
    assert len(scores) and (scores["next_categories"] == "[]").all()
    run_ok("due-list", "--within-days", "14", "--out", str(tmp_path / "due.csv"))
    validated = run_ok("validate", "--data", str(data))
    assert validated.count("category features and curves are off") == 1
