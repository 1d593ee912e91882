"""The wheel's layout: retain's four packages inside the `retain` namespace, never at the top.

A hatchling build hook (pyproject.toml, `[tool.hatch.build.targets.wheel.hooks.custom]`).
The repository keeps `features/`, `models/`, `pipelines/` and `serving/` at its top (tests,
mypy and the editable install use them there); the built wheel installs them as
`retain.features`, ... with every project import rewritten (`from models.x` ->
`from retain.models.x`, and module paths such as `serving.service:RetainService` and the
console script's target), and `retain/__init__.py` re-exporting the API of `pipelines.api`.
The editable install keeps the repository on the path and adds only that `retain/__init__.py`.
Not shipped: the wheel leaves this folder out.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGES = ("features", "models", "pipelines", "serving")
NAMESPACE = "retain"
LEFT_OUT = ("__pycache__", "*.pyc", "packaging")  # this folder builds; it is not shipped
_NAMES = "|".join(PACKAGES)
FROM_IMPORT = re.compile(rf"^(\s*)from ({_NAMES})(\.|\s+import\b)", re.M)
PLAIN_IMPORT = re.compile(rf"^\s*import ({_NAMES})\b", re.M)
MODULE_PATH = re.compile(rf"""(["'])((?:{_NAMES})(?:\.\w+)*:\w+)""")
FACADE = '''"""retain: churn risk and next-purchase timing; the Python API (see pipelines.api)."""

from pipelines.api import *  # noqa: F403
from pipelines.api import __all__, __doc__  # noqa: F401
'''


def rewrite(source: str, where: str = "<source>") -> str:
    """`source` with its project imports and module paths inside the `retain` namespace.
    A plain `import models...` would bind a top-level name the wheel does not have: refused."""
    if found := PLAIN_IMPORT.search(source):
        raise ValueError(f"{where}: write `from {found.group(1)} import ...`, not `import`")
    source = FROM_IMPORT.sub(rf"\1from {NAMESPACE}.\2\3", source)
    return MODULE_PATH.sub(rf"\1{NAMESPACE}.\2", source)


def write_namespace(root: Path, target: Path) -> Path:
    """The packages of `root` copied under `target/retain/`, Python files rewritten."""
    package = target / NAMESPACE
    for name in PACKAGES:
        shutil.copytree(root / name, package / name, ignore=shutil.ignore_patterns(*LEFT_OUT))
    for path in package.rglob("*.py"):
        path.write_text(rewrite(path.read_text(), str(path.relative_to(target))))
    (package / "__init__.py").write_text(rewrite(FACADE))
    return package


class RetainLayout(BuildHookInterface):
    """The wheel: `retain/` rewritten; the editable wheel: the facade `retain/__init__.py`."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="retain-wheel-"))
        if version == "editable":
            facade = self._folder / "__init__.py"
            facade.write_text(FACADE)
            build_data["force_include_editable"][str(facade)] = f"{NAMESPACE}/__init__.py"
            return
        package = write_namespace(Path(self.root), self._folder)
        build_data["force_include"][str(package)] = NAMESPACE
        scripts = self.metadata.core.scripts  # the console script's target, inside retain
        for name, target in scripts.items():
            scripts[name] = rewrite(f'"{target}"').strip('"')

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
