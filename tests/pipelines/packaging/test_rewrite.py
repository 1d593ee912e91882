"""The wheel's rewriting of project imports into the `retain` namespace, on sample sources and
on every module of the repository (what the build hook writes must still parse and import
nothing at a generic top-level name)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipelines.packaging.hatch_build import FACADE, PACKAGES, rewrite, write_namespace

ROOT = Path(__file__).resolve().parents[3]


def test_imports_and_module_paths_move_inside_retain() -> None:
    source = (
        "from models.scorer import Scorer\n"
        "    from features import schema\n"
        "from pipelines.cli.common import (\n    console,\n)\n"
        'SERVICE = "serving.service:RetainService"\n'
        'uri = f"models:/{name}/{version}"\n'
        'path = folder / "features.parquet"\n'
        "from modelsx import y\n"
        "import numpy as np\n"
    )
    assert rewrite(source) == (
        "from retain.models.scorer import Scorer\n"
        "    from retain.features import schema\n"
        "from retain.pipelines.cli.common import (\n    console,\n)\n"
        'SERVICE = "retain.serving.service:RetainService"\n'
        'uri = f"models:/{name}/{version}"\n'  # an MLflow URI, not a module path
        'path = folder / "features.parquet"\n'
        "from modelsx import y\n"
        "import numpy as np\n"
    )


def test_a_plain_import_of_a_project_package_is_refused() -> None:
    with pytest.raises(ValueError, match="write `from models import"):
        rewrite("import models.scorer\n", "x.py")


def test_the_facade_reexports_the_api() -> None:
    assert "from retain.pipelines.api import *" in rewrite(FACADE)


def _project_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [n for n in names if n.split(".")[0] in PACKAGES]
    return found


def test_every_module_of_the_wheel_parses_and_stays_inside_retain(tmp_path: Path) -> None:
    package = write_namespace(ROOT, tmp_path)
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 50
    assert not (package / "pipelines" / "packaging").exists()  # the hook is not shipped
    outside = {
        str(p.relative_to(tmp_path)): _project_imports(ast.parse(p.read_text())) for p in modules
    }
    assert not {k: v for k, v in outside.items() if v}
    assert (package / "serving" / "ui" / "templates").is_dir()  # data files travel too
