"""Exit codes mean what the README says: 0 success, 1 a problem the command found and
reports, 2 unusable input or usage; each failure is one line naming what was wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.schema import FEATURE_COLUMNS, NUMERIC_FEATURES
from models.scorer import SCORE_COLUMNS
from tests.cli_helpers import run_main
from tests.conftest import tiny_tables


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty retain home and MLflow store of this test's own."""
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow/mlflow.db")
    monkeypatch.chdir(tmp_path)  # no retain.toml of the repository's
    return tmp_path / "home"


run = run_main


def one_line_without_traceback(output: str) -> str:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def write_scores(home: Path, rows: int = 20) -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, rows)
    scores = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(rows)],
            "as_of": pd.Timestamp("2024-03-01"),
            "churn_probability": p,
            "risk_tier": np.where(p >= 0.6, "high", np.where(p >= 0.3, "medium", "low")),
            "expected_days_to_next_order": 10.0,
            "next_order_p10_days": 2.0,
            "next_order_p90_days": 30.0,
            "next_order_date": pd.Timestamp("2024-03-11"),
            "order_probability_7d": (1 - p) * 0.3,
            "order_probability_14d": (1 - p) * 0.5,
            "order_probability_30d": (1 - p) * 0.8,
            "next_categories": "[]",
            "value_tier": "bronze",
            "expected_value": 10.0,
            "value_at_risk": p * 10,
            "predicted_clv_365d": 30.0,
            "predicted_clv_365d_p10": 0.0,
            "predicted_clv_365d_p90": 80.0,
            "reasons": "last order 40 days ago (raises the risk)",
            "reason_directions": "raises",
            "model_version": "1",
            "scored_at": pd.Timestamp("2024-03-01 02:00"),
        }
    )[list(SCORE_COLUMNS)]
    (home / "scores").mkdir(parents=True, exist_ok=True)
    scores.to_parquet(home / "scores" / "latest.parquet", index=False)


def test_a_segment_filter_without_segments_is_a_usage_error(home, monkeypatch, capsys) -> None:
    write_scores(home)  # scores, but no feature file beside them
    code, out = run(monkeypatch, capsys, "risk-list", "--segment", "premium", "--out", "l.csv")
    assert code == 2
    assert "--segment" in one_line_without_traceback(out)


def test_an_unknown_tier_is_a_usage_error(home, monkeypatch, capsys) -> None:
    write_scores(home)
    code, out = run(monkeypatch, capsys, "risk-list", "--tier", "hgih", "--out", "l.csv")
    assert code == 2
    line = one_line_without_traceback(out)
    assert "'hgih'" in line and "high" in line


def test_a_list_before_any_scores_is_a_usage_error(home, monkeypatch, capsys) -> None:
    code, out = run(monkeypatch, capsys, "risk-list", "--out", "l.csv")
    assert code == 2
    assert "retain score" in one_line_without_traceback(out)


def test_a_list_with_valid_filters_succeeds(home, monkeypatch, capsys) -> None:
    write_scores(home)
    code, out = run(monkeypatch, capsys, "risk-list", "--tier", "high", "--out", "l.csv")
    assert code == 0, out
    listed = pd.read_csv("l.csv")
    assert set(listed["risk_tier"]) == {"high"}


@pytest.mark.slow  # creates an MLflow store
def test_promoting_an_unknown_version_is_a_usage_error(home, monkeypatch, capsys) -> None:
    code, out = run(monkeypatch, capsys, "models", "promote", "99")
    assert code == 2
    assert "'99'" in one_line_without_traceback(out)


@pytest.mark.slow  # creates an MLflow store
def test_nothing_to_roll_back_to_is_a_problem_found(home, monkeypatch, capsys) -> None:
    code, out = run(monkeypatch, capsys, "models", "rollback")
    assert code == 1
    assert "roll back" in one_line_without_traceback(out)


@pytest.mark.slow  # creates an MLflow store
def test_scoring_without_a_champion_is_a_problem_found(home, tmp_path, monkeypatch, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    tiny_tables().orders.to_parquet(data / "orders.parquet", index=False)
    code, out = run(monkeypatch, capsys, "score", "--data", str(data))
    assert code == 1
    assert "Traceback" not in out and "retain train" in out.splitlines()[-1]


def test_a_missing_source_is_a_usage_error(home, tmp_path, monkeypatch, capsys) -> None:
    code, out = run(monkeypatch, capsys, "validate", "--data", str(tmp_path / "nowhere"))
    assert code == 2
    assert "nowhere" in one_line_without_traceback(out)


def test_an_invalid_setting_is_a_usage_error(home, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RETAIN_HORIZON_DAYS", "-5")
    code, out = run(monkeypatch, capsys, "risk-list", "--out", "l.csv")
    assert code == 2
    assert "horizon_days" in one_line_without_traceback(out)


def _features(rows: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(shift, 1, rows) for c in NUMERIC_FEATURES})
    for c in set(FEATURE_COLUMNS) - set(NUMERIC_FEATURES):
        frame[c] = rng.choice(["a", "b"], rows)
    frame.insert(0, "customer_id", [f"c{i}" for i in range(rows)])
    return frame


@pytest.mark.slow  # Evidently's drift report
@pytest.mark.parametrize(("shift", "code"), [(0.0, 0), (5.0, 1)])
def test_the_drift_alarm_is_exit_1(home, monkeypatch, capsys, shift: float, code: int) -> None:
    """Same distributions: no alarm (0); every numeric feature moved: the alarm (1)."""
    (home / "scores").mkdir(parents=True)
    _features(400, 0.0, 1).to_parquet(home / "reference.parquet", index=False)
    _features(400, shift, 2).to_parquet(home / "scores" / "latest_features.parquet", index=False)
    got, out = run(monkeypatch, capsys, "drift", "--out", str(home / "drift.html"))
    assert got == code, out
    assert ("drift alarm" in out) == (code == 1)


@pytest.mark.parametrize("args", [["models", "list"], ["generate", "--out", "x"], ["drift"]])
def test_invalid_settings_stop_any_command(home, monkeypatch, capsys, args) -> None:
    Path("retain.toml").write_text("medium_risk_threshold = 0.7\nhigh_risk_threshold = 0.6\n")
    code, out = run(monkeypatch, capsys, *args)
    assert code == 2
    line = one_line_without_traceback(out)
    assert "medium_risk_threshold" in line and "high_risk_threshold" in line


@pytest.mark.parametrize(
    "args",
    [
        ["risk-list", "--no-such-option"],
        ["risk-list", "--out", "l.csv", "--rank-by", "x"],
        ["due-list", "--out", "l.csv", "--within-days", "soon"],
        ["no-such-command"],
    ],
)
def test_a_mistyped_option_shows_the_usage_line(home, monkeypatch, capsys, args) -> None:
    code, out = run(monkeypatch, capsys, *args)
    assert code == 2
    assert "Traceback" not in out
    assert out.lstrip().startswith("Usage: retain") and "Error:" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["score", "--as-of", "notadate"], "--as-of: 'notadate' is not a date"),
        (["train", "--as-of", "2024-13-45"], "--as-of: '2024-13-45' is not a date"),
        (["replay", "--from", "soon"], "--from: 'soon' is not a date"),
        (["risk-list", "--out", "/proc/x.csv"], "--out: cannot write to /proc"),
        (["score", "--out", "/proc/x.csv"], "--out: cannot write to /proc"),
        (["generate", "--out", "/proc/retain"], "--out: cannot write to /proc/retain"),
    ],
)
def test_a_bad_date_or_output_is_one_line(home, monkeypatch, capsys, args, words) -> None:
    code, out = run(monkeypatch, capsys, *args)
    assert code == 2
    assert words in one_line_without_traceback(out)


def test_a_second_writer_of_the_warehouse_is_one_line(home, monkeypatch, capsys) -> None:
    """Another process holds the warehouse (as a running `retain score` does): stop at once."""
    import subprocess
    import sys

    holder = "import sys; from pathlib import Path; from pipelines.home import Home"
    holder += f"; con = Home(Path({str(home)!r})).open_warehouse('1GB')"
    holder += "; print('held', flush=True); sys.stdin.read()"
    root = Path(__file__).resolve().parents[3]
    with subprocess.Popen(
        [sys.executable, "-c", holder], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == b"held"
        code, out = run(monkeypatch, capsys, "score", "--as-of", "2024-03-01")
        proc.stdin.close()
    assert code == 2
    line = one_line_without_traceback(out)
    assert "another retain command is writing the warehouse; try again when it ends" in line


def test_an_unreachable_tracking_server_is_one_line(home, monkeypatch, capsys) -> None:
    from tests.net_helpers import free_port

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    code, out = run(monkeypatch, capsys, "models", "list")
    assert code == 2
    assert "MLFLOW_TRACKING_URI" in one_line_without_traceback(out)


def test_replay_without_from_leaves_the_registry_alone(home, tmp_path, monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, "replay", "--months", "1")
    assert code == 2
    assert "Missing option '--from'" in out and "Traceback" not in out
    assert not (tmp_path / "mlflow").exists()  # the tracking store was never opened


def test_a_misspelt_setting_names_the_closest(home, monkeypatch, capsys) -> None:
    Path("retain.toml").write_text("horizon_day = 30\n")
    code, out = run(monkeypatch, capsys, "models", "list")
    assert code == 2
    assert "did you mean `horizon_days`?" in one_line_without_traceback(out)


def test_an_unforeseen_error_is_one_line_and_a_logged_traceback(home, monkeypatch, capsys):
    """The last resort: exit 1, one line saying where the traceback is, never on screen."""
    import pipelines.training.versions as versions

    def broken(settings: object) -> None:
        raise KeyError("model_version [x]")

    monkeypatch.setattr(versions, "list_versions", broken)
    code, out = run(monkeypatch, capsys, "models", "list")
    assert code == 1
    line = one_line_without_traceback(out)
    log = home / "logs" / "errors.log"
    assert "KeyError" in line and str(log) in line
    assert line.startswith("error unexpected") and "[x]" in line  # styled, the text as it is
    assert "Traceback" in log.read_text() and "retain models list" in log.read_text()
