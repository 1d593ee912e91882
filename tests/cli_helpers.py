"""Running `retain` in tests: through Typer's runner (success expected) or as the console
script runs it (any exit code), and a home and MLflow store of the test's own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app, main


def run_ok(*args: str) -> str:
    """`retain ARGS`, which must exit 0; its output with white space folded (no wrapping)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """(exit code, everything printed) of `retain ARGS` as the console script runs it."""
    monkeypatch.setattr(sys, "argv", ["retain", *args])
    try:
        main()
        code = 0
    except SystemExit as finished:
        code = int(finished.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def own_home(mp: pytest.MonkeyPatch, root: Path) -> None:
    """RETAIN_HOME and the MLflow store under `root`, so tests never share state."""
    mp.setenv("RETAIN_HOME", str(root / "home"))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow/mlflow.db")


def scored_home(mp: pytest.MonkeyPatch, root: Path, customers: int, seed: int) -> Path:
    """A home of its own under `root` with generated data, a trained champion and published
    scores (`retain generate`, `train`, `score --out root/scores.parquet`); returns the home."""
    own_home(mp, root)
    mp.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    mp.setenv("RETAIN_REASONS_TOP", "100")
    data = str(root / "data")
    run_ok("generate", "--out", data, "--customers", str(customers), "--days", "730",
           "--seed", str(seed))  # fmt: skip
    run_ok("train", "--data", data)
    run_ok("score", "--out", str(root / "scores.parquet"))
    return root / "home"
