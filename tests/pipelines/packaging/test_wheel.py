"""The built wheel in a fresh virtual environment: one top-level name, `retain`; the API, the
console script, and a model trained there loads back as champion without putting `models`
or `features` on the path.

The environment gets only the wheel and its dependencies, pinned to uv.lock (from the local
uv cache; from the registry when the cache lacks a package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[3]
GENERIC = ("models", "features", "pipelines", "serving")

# Run inside the wheel's environment: train on a small world, load the champion, score.
ROUND_TRIP = """
import importlib.util, sys
import retain

settings = retain.settings(home="home", mlflow_tracking_uri="sqlite:///mlflow/mlflow.db")
retain.generate("data", customers=300, seed=3)
outcome = retain.train("data", settings=settings)
champion = retain.load_champion(settings=settings)
assert champion.version == outcome.version, (champion.version, outcome.version)
assert type(champion.scorer).__module__ == "retain.models.scorer", type(champion.scorer)
scores = retain.score(settings=settings, as_of="2026-01-01").frame()
assert len(scores) > 0 and scores["model_version"].eq(outcome.version).all()
leaked = [n for n in ("models", "features") if importlib.util.find_spec(n) is not None]
assert not leaked, leaked
print("round trip ok", outcome.version, len(scores))
"""


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    if subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True).returncode:
        pytest.skip("uv is not installed (make install installs it)")
    return [sys.executable, "-m", "uv"]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding the built wheel and its locked dependencies only."""
    uv, where = _uv(), tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    _run([*uv, "build", "--wheel", "--out-dir", str(where / "dist")], ROOT, env)
    wheel = next((where / "dist").glob("retain-*.whl"))
    pins = _run([*uv, "export", "--frozen", "--no-hashes", "--no-dev", "--no-emit-project"], ROOT)
    (where / "pins.txt").write_text(pins)
    _run([*uv, "venv", "--python", "3.11", str(where / "venv")], where, env)
    install = [*uv, "pip", "install", "--python", str(where / "venv" / "bin" / "python")]
    install += ["-c", str(where / "pins.txt"), str(wheel)]
    cached = subprocess.run([*install, "--offline"], cwd=where, env=env, capture_output=True)
    if cached.returncode != 0:  # a package missing from the cache: the registry
        _run(install, where, env)
    return where / "venv"


def _clean_env(venv: Path) -> dict[str, str]:
    """The venv's own environment: no PYTHONPATH, no retain or MLflow settings of the caller."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIN_", "MLFLOW_"))}
    keep.pop("PYTHONPATH", None)
    return {**keep, "PATH": f"{venv / 'bin'}:{keep.get('PATH', '')}", "VIRTUAL_ENV": str(venv)}


def test_import_retain_works_and_generic_names_are_absent(venv: Path, tmp_path: Path) -> None:
    python, env = str(venv / "bin" / "python"), _clean_env(venv)
    where = _run(
        [python, "-c", "import retain; retain.train; print(retain.__file__)"], tmp_path, env
    )
    assert str(venv) in where and str(ROOT) not in where  # the installed copy, not the checkout
    for name in GENERIC:
        failed = subprocess.run(
            [python, "-c", f"import {name}"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert failed.returncode == 1 and f"No module named '{name}'" in failed.stderr
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            tmp_path,
            env,
        ).strip()
    )
    assert not any((site / name).exists() for name in GENERIC)


def test_the_console_script_runs_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    shown = _run([str(venv / "bin" / "retain"), "--help"], tmp_path, _clean_env(venv))
    assert "Usage: retain" in shown and "train" in shown


def test_a_model_trained_from_the_wheel_loads_back_as_champion(venv: Path, tmp_path: Path) -> None:
    out = _run([str(venv / "bin" / "python"), "-c", ROUND_TRIP], tmp_path, _clean_env(venv))
    assert "round trip ok" in out
    # across: the checkout loads the wheel's version (through the code the version carries),
    # then trains one of its own, which the wheel install loads in turn
    checkout = {**_clean_env(venv), "PATH": os.environ.get("PATH", "")}
    checkout.pop("VIRTUAL_ENV")
    loaded = _run([sys.executable, "-c", ACROSS_IN_CHECKOUT], tmp_path, checkout)
    lines = loaded.strip().splitlines()  # the load report prints between the two
    assert (lines[0], lines[-1]) == ("retain.models.scorer", "2")
    back = _run([str(venv / "bin" / "python"), "-c", BACK_IN_WHEEL], tmp_path, _clean_env(venv))
    assert back.split() == ["models.scorer", "2"]


SETTINGS = """
from pipelines.settings import load_settings
settings = load_settings(home="home", mlflow_tracking_uri="sqlite:///mlflow/mlflow.db")
"""
ACROSS_IN_CHECKOUT = (
    SETTINGS
    + """
from pipelines.api import load_champion, train
scorer = load_champion(settings=settings, version="1").scorer
print(type(scorer).__module__)
print(train("data", settings=settings).version)
"""
)
BACK_IN_WHEEL = """
import retain
settings = retain.settings(home="home", mlflow_tracking_uri="sqlite:///mlflow/mlflow.db")
champion = retain.load_champion(settings=settings, version="2")
print(type(champion.scorer).__module__, champion.version)
"""
