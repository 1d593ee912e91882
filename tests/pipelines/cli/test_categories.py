"""Category curves end to end: order lines with categories through train, evaluate, score and
a category due list; and a line-level export without categories, which runs and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli_helpers import own_home, run_ok


@pytest.fixture(scope="module")
def lines_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("categories")
    mp = pytest.MonkeyPatch()
    own_home(mp, root)
    mp.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    data = str(root / "data")
    run_ok("generate", "--out", data, "--customers", "3000", "--seed", "2", "--lines")
    run_ok("train", "--data", data)
    root.joinpath("scored.txt").write_text(run_ok("score"))
    yield root
    mp.undo()


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
    own_home(monkeypatch, tmp_path)
    monkeypatch.setenv("RETAIN_TRAINING_CUTOFFS", "3")
    data = tmp_path / "data"
    run_ok("generate", "--out", str(data), "--customers", "1500", "--seed", "4", "--lines")
    lines = pd.read_parquet(data / "order_lines.parquet").drop(columns="category")
    lines.to_parquet(data / "order_lines.parquet")
    said = run_ok("train", "--data", str(data))
    assert said.count("category features and curves are off") <= 1
    scored = run_ok("score")
    assert "category curves off" in scored
    assert (Path(tmp_path) / "home" / "scores" / "latest.parquet").exists()
    validated = run_ok("validate", "--data", str(data))
    assert validated.count("category features and curves are off") == 1
