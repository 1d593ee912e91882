"""The layout rules of docs/ARCHITECTURE.md, checked on the source: arrows point down the flow,
no import cycles, small modules and a thin command line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "models", "pipelines", "serving")
INFRASTRUCTURE = {"settings", "errors", "home", "warehouse", "files", "postgres"}
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
    # what the service exposes: the home's published files (infra), marketing's lists, and
    # ingest for posted histories (validated exactly like files)
    "serving": {"features", "models", "serving", "pipelines.infra"}
    | {"pipelines.marketing", "pipelines.ingest"},
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


# docs/ARCHITECTURE.md says what the rules above enforce; these keep the two the same.
PAGE = ROOT / "docs/ARCHITECTURE.md"


def _page_section(title: str) -> str:
    """The text of the page's section whose heading contains `title`."""
    text = PAGE.read_text()
    start = next(m.end() for m in re.finditer(r"^## .*$", text, re.M) if title in m.group())
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else None]


def _table(section: str) -> dict[str, str]:
    """First column -> second column of the Markdown table rows in `section`."""
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \|$", section, re.M)
    return dict(rows)


def test_the_page_states_the_import_table_the_test_enforces() -> None:
    stated: dict[str, set[str]] = {}
    for room, allowed in _table(_page_section("direction of imports")).items():
        names = set(re.findall(r"`([^`]+)`", allowed))
        if room == "pipelines.<stage>":
            for stage in STAGES:
                stated[f"pipelines.{stage}"] = names | {f"pipelines.{stage}"}
        else:
            stated[room] = set(ALLOWED) | {"pipelines"} if allowed == "everything" else names
    assert stated == ALLOWED


def test_the_page_names_the_stages_and_the_infrastructure() -> None:
    section = " ".join(_page_section("direction of imports").split())
    stages = re.search(r"The stages \(`pipelines.<stage>`\): (.+?)\.", section)
    assert stages and set(re.findall(r"`(\w+)`", stages.group(1))) == STAGES
    infra = re.search(r"every module directly in `pipelines/`: (.+?)\.", section)
    modules = {p.stem for p in (ROOT / "pipelines").glob("*.py") if p.stem != "__init__"}
    assert infra and {n.strip() for n in infra.group(1).split(",")} == modules


def test_the_page_states_the_contract_and_the_scores_columns() -> None:
    from features.schema import CONTRACTS
    from models.scorer import SCORE_COLUMNS

    required = {
        table: [c.strip(" `") for c in columns.split(",")]
        for table, columns in _table(_page_section("data contract")).items()
    }
    assert required == {name: list(c.required) for name, c in CONTRACTS.items()}
    listed = re.findall(r"`(\w+)`", _page_section("What comes out").split("\n\n")[2])
    assert listed == list(SCORE_COLUMNS)


DOCUMENT = re.compile(r"\]\(([^)#\s]+\.md)|((?:[\w.-]+/)*[A-Z][A-Z0-9_-]*\.md)\b")


def test_no_file_points_to_a_document_outside_the_repository() -> None:
    """Every Markdown document a file names (a link, or an upper-case name such as
    README.md or docs/OPERATIONS.md) exists in the repository, beside the file or from its root.
    The page's own history note may name the design document it replaced."""
    missing = []
    for path in sorted(_project_files()):
        text = re.sub(r"https?://\S+", "", path.read_text(errors="replace"))
        if path == PAGE:
            text = text.split("\n## History")[0]
        for link, name in DOCUMENT.findall(text):
            found = link or name
            if not ((path.parent / found).exists() or (ROOT / found).exists()):
                missing.append(f"{path.relative_to(ROOT)}: {found}")
    assert not missing, missing


def _project_files() -> list[Path]:
    """The project's own text files: source, tests, benchmarks, docs, top-level files."""
    folders = [*PACKAGES, "tests", "benchmarks", "docs", "mlflow"]
    suffixes = {".py", ".md", ".html", ".toml", ".txt", ".yaml", ".yml"}
    files = [p for d in folders for p in (ROOT / d).rglob("*") if p.suffix in suffixes]
    return [*files, ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml"]


HOME_PATH = re.compile(r"settings(?:_with)?\(?\)?\.home\b|\bhome\s*/\s*[\"']")


def test_only_the_home_module_builds_paths_under_the_home() -> None:
    """RETAIN_HOME's layout is pipelines/home.py's alone: no other module reads `settings.home`
    or joins a file name onto a home (stages hand over through `Home`)."""
    owner = MODULES["pipelines.home"]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in MODULES.values()
        if path != owner
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if HOME_PATH.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, found
