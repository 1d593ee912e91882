"""`import retain`: what each function returns, on a small synthetic world, and that a list
made through the API is the list the command line makes (the same code path)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import pipelines.api
import retain
from features.schema import LABEL_COLUMNS
from models.scorer import SCORE_COLUMNS, Scorer
from pipelines.ingest.load import Loaded
from pipelines.scoring.batch import ScoreResult
from pipelines.training.run import TrainingOutcome
from tests.cli_helpers import own_home, run_ok

FUNCTIONS = ("generate", "load", "features", "train", "evaluate", "score", "risk_list")
FUNCTIONS += ("due_list", "load_champion", "settings")


def test_retain_is_the_api_and_every_function_is_documented() -> None:
    assert set(FUNCTIONS) <= set(retain.__all__)
    assert retain.__all__ == pipelines.api.__all__
    for name in retain.__all__:
        member = getattr(retain, name)
        assert member is getattr(pipelines.api, name)
        assert inspect.getdoc(member), name
    assert retain.__doc__ and "import retain" in retain.__doc__


def _no_clock(name: str) -> bool:
    """Whether the function's source never reads the clock (time is an argument)."""
    source = inspect.getsource(getattr(pipelines.api, name))
    return not any(call in source for call in ("now(", "today(", "time.time("))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_time_is_an_argument(name: str) -> None:
    assert _no_clock(name)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """300 synthetic customers over two years, a home and MLflow store of this module's own."""
    root = tmp_path_factory.mktemp("api")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        own_home(mp, root)
        counts = retain.generate(root / "data", customers=300, seed=3)
        assert counts["customers"] == 300 and counts["orders"] > 0
        yield root


def test_settings_take_overrides_and_refuse_bad_values(world: Path) -> None:
    settings = retain.settings(horizon_days=60)
    assert isinstance(settings, retain.Settings) and settings.horizon_days == 60
    with pytest.raises(retain.InputError, match="horizon_days"):
        retain.settings(horizon_days=-1)


def test_load_reports_rows_read_used_and_set_aside(world: Path) -> None:
    loaded = retain.load(world / "data")
    assert isinstance(loaded, Loaded)
    orders = next(r for r in loaded.reports if r.table == "orders")
    assert "rows read" in orders.line() and loaded.rejects == 0
    with pytest.raises(retain.InputError):
        retain.load(world / "no-such-folder")


def test_features_are_a_frame_per_customer_and_cutoff(world: Path) -> None:
    one = retain.features(as_of="2025-06-01", data=world / "data")
    assert isinstance(one, pd.DataFrame) and one["customer_id"].is_unique
    assert (pd.to_datetime(one["cutoff_at"]) == pd.Timestamp("2025-06-01")).all()
    labelled = retain.features(as_of="2025-06-01", cutoffs=3, with_labels=True)
    assert set(LABEL_COLUMNS) <= set(labelled.columns)
    assert labelled["cutoff_at"].nunique() == 3


@pytest.mark.slow  # creating the MLflow store takes ~20 s
def test_without_a_champion_scoring_is_a_problem_found(world: Path) -> None:
    with pytest.raises(retain.ProblemFound, match="no 'champion'"):
        retain.load_champion()
    with pytest.raises(retain.ProblemFound, match="no 'champion'"):
        retain.score()


@pytest.fixture(scope="module")
def trained(world: Path) -> Iterator[TrainingOutcome]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(world)
        own_home(mp, world)
        yield retain.train(world / "data")


@pytest.mark.slow
@pytest.mark.integration
def test_train_score_lists_and_champion(world: Path, trained: TrainingOutcome, monkeypatch) -> None:
    monkeypatch.chdir(world)
    own_home(monkeypatch, world)
    assert isinstance(trained, TrainingOutcome) and trained.decision.promoted
    assert {"model", "bgnbd"} <= set(trained.result.metrics)
    champion = retain.load_champion()
    assert isinstance(champion, retain.Champion) and isinstance(champion.scorer, Scorer)
    assert champion.version == trained.version

    result = retain.score(as_of="2026-01-01", scored_at="2026-01-01 06:00")
    assert isinstance(result, ScoreResult) and result.scored > 0
    scores = result.frame()
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert (scores["scored_at"] == pd.Timestamp("2026-01-01 06:00")).all()

    risk = retain.risk_list(top=50, list_id="same", out=world / "api.parquet")
    run_ok("risk-list", "--top", "50", "--list-id", "same", "--out", str(world / "cli.parquet"))
    pd.testing.assert_frame_equal(
        pd.read_parquet(world / "api.parquet"), pd.read_parquet(world / "cli.parquet")
    )
    assert len(risk) == 50 and {"rank", "group", "reasons"} <= set(risk.columns)
    due = retain.due_list(within_days=60, min_order_probability=0.3)
    assert isinstance(due, pd.DataFrame) and "order_probability" in due.columns


@pytest.mark.slow
@pytest.mark.integration
def test_evaluate_gives_metrics_per_scorer(world: Path, monkeypatch) -> None:
    monkeypatch.chdir(world)
    own_home(monkeypatch, world)
    evaluation = retain.evaluate("2025-09-01", world / "eval.json", earlier=0)
    assert isinstance(evaluation, retain.Evaluation) and evaluation.verdict
    assert {"model", "bgnbd"} <= set(evaluation.metrics.columns)
    assert "churn_roc_auc" in evaluation.metrics.index
    assert all(path.exists() for path in evaluation.files)
