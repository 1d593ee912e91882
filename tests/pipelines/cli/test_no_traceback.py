"""Every command, given random option values in an empty home, ends with an exit code of
0, 1 or 2 and no traceback; and none of them needs the last resort (every failure has its
own message, so the error log stays empty)."""

from __future__ import annotations

import enum
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.cli import app
from tests.cli_helpers import run_main

# Commands that start a long-running process (a server, a UI) or the whole demo are run
# elsewhere (tests/serving, test_end_to_end); here they would not end.
NOT_RUN = {("monitor-ui",), ("demo",)}
NOT_GIVEN = {"--insecure-local"}  # `serve --insecure-local` starts the service
JUNK = st.sampled_from(
    ["", "-1", "0", "nan", "1e999", "notadate", "2024-02-30", "/proc/x.csv", "é" * 3, "x" * 200]
)
ARGV_CHARACTERS = st.characters(blacklist_characters="\x00")  # no NUL can be in an argv
PLAUSIBLE = st.sampled_from(["2024-03-01", "out.csv", "out.parquet", "high", "platinum", "7"])


def _commands() -> dict[tuple[str, ...], Any]:
    found: dict[tuple[str, ...], Any] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))
        if not getattr(command, "commands", None):
            found[path] = command

    walk(typer.main.get_command(app), ())
    return {path: cmd for path, cmd in found.items() if path not in NOT_RUN}


COMMANDS = _commands()


def _value(annotation: Any) -> st.SearchStrategy[str]:
    if annotation is int:
        return st.integers(-3, 40).map(str) | JUNK
    if annotation is float:
        return st.floats(-2, 50).map(str) | JUNK
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from([m.value for m in annotation]) | JUNK
    return JUNK | PLAUSIBLE | st.text(ARGV_CHARACTERS, max_size=8)


def _param_args(param: Any) -> st.SearchStrategy[list[str]]:
    annotation = param.type_descriptor.annotation
    if type(param).__name__ == "TyperArgument":
        return _value(annotation).map(lambda v: [v])
    flag = param.opts[0]
    if param.is_flag:
        return st.sampled_from([[], [flag], *([o] for o in param.secondary_opts)])
    values = st.lists(_value(str if param.multiple else annotation), min_size=1, max_size=2)
    given_values = values.map(lambda vs: [x for v in vs for x in (flag, v)])
    return given_values if param.required else st.just([]) | given_values


@st.composite
def _args(draw: st.DrawFn, path: tuple[str, ...]) -> list[str]:
    params = [p for p in COMMANDS[path].params if not set(p.opts) & NOT_GIVEN]
    return [*path, *(a for p in params for a in draw(_param_args(p)))]


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_random_options_never_show_a_traceback(path, monkeypatch, capsys) -> None:
    @settings(
        max_examples=4,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(args=_args(path))
    def check(args: list[str]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)
            home = Path(folder) / "home"
            monkeypatch.setenv("RETAIN_HOME", str(home))
            monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder}/mlflow/mlflow.db")
            code, out = run_main(monkeypatch, capsys, *args)
            log = home / "logs" / "errors.log"
            assert "Traceback" not in out, (args, out)
            assert code in (0, 1, 2), (args, out)
            assert not log.exists(), (args, log.read_text())

    monkeypatch.chdir(os.getcwd())  # back where the test started, whatever chdir did
    check()
