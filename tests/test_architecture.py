"""The layout rules of DESIGN.md section 6, checked on the source: arrows point down the flow,
no import cycles, small modules and a thin command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "models", "pipelines", "serving")
INFRASTRUCTURE = {"settings", "errors", "warehouse", "files", "postgres"}
STAGES = {"ingest", "synthetic", "training", "scoring", "marketing", "monitoring"}
MAX_MODULE_LINES = 450
MAX_CLI_FUNCTION_LINES = 40


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
}


def _resolve(name: str) -> str | None:
    """The project module an import names (a package's name when it is the package)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Project modules imported anywhere in `module` (top level, functions, type checking)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {m for n in names if (m := _resolve(n)) is not None and m != module}
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _cycle() -> list[str] | None:
    """One import cycle between project modules, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node], _ = 2, path.pop()
        return None

    for start in sorted(GRAPH):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle() -> None:
    assert _cycle() is None, " -> ".join(_cycle() or [])


def _room(module: str) -> str:
    """features, models, serving, pipelines.<stage>, pipelines.infra or pipelines.cli."""
    parts = module.split(".")
    if parts[0] != "pipelines" or len(parts) == 1:
        return parts[0]
    if parts[1] in STAGES or parts[1] == "cli":
        return f"pipelines.{parts[1]}"
    return "pipelines.infra"


ALLOWED = {
    "features": {"features"},
    "models": {"features", "models"},
    "pipelines.infra": {"features", "models", "pipelines.infra"},
    **{
        f"pipelines.{s}": {"features", "models", "pipelines.infra", f"pipelines.{s}"}
        for s in STAGES
    },
    # the stages the service exposes: scoring and marketing, and ingest for posted histories
    # (validated exactly like files)
    "serving": {"features", "models", "serving", "pipelines.infra"}
    | {"pipelines.scoring", "pipelines.marketing", "pipelines.ingest"},
    "pipelines.cli": {"features", "models", "serving", "pipelines", "pipelines.infra"}
    | {f"pipelines.{s}" for s in STAGES}
    | {"pipelines.cli"},
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_flow(module: str) -> None:
    room = _room(module)
    wrong = sorted(m for m in GRAPH[module] if _room(m) not in ALLOWED[room])
    assert not wrong, f"{module} ({room}) must not import {wrong}"


def test_pipelines_has_one_room_per_stage() -> None:
    rooms = {p.name for p in (ROOT / "pipelines").iterdir() if (p / "__init__.py").exists()}
    assert rooms == STAGES | {"cli"}
    assert not (ROOT / "mlflow" / "__init__.py").exists()  # never a package: it would shadow


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines"


def test_command_functions_stay_thin() -> None:
    long = []
    for module, path in MODULES.items():
        if not module.startswith("pipelines.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_CLI_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert not long, long


def test_the_checker_sees_a_cycle_and_a_wrong_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules above would catch a regression: a planted cycle and an upward import."""
    monkeypatch.setitem(GRAPH, "models.bgnbd", {*GRAPH["models.bgnbd"], "models.baselines"})
    assert _cycle() is not None
    assert _room("pipelines.scoring.batch") not in ALLOWED["features"]
