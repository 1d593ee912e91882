"""docs/notebook.py, the API example, runs from start to end as a script: it never rots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]
NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.py"


def test_the_notebook_runs_and_pulls_its_lists(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "MLFLOW_"))}
    work = tmp_path / "work"
    done = subprocess.run(
        [sys.executable, str(NOTEBOOK), str(work)],
        cwd=tmp_path,  # no retain.toml of the caller's
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    risk = pd.read_csv(work / "risk_list.csv")
    assert len(risk) == 200 and set(risk["group"]) == {"target", "control"}
    assert "risk list 200 rows" in done.stdout
    assert (work / "mlflow" / "mlflow.db").exists() and (work / ".retain").is_dir()
