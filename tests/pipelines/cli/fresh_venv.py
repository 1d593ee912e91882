"""A fresh virtual environment holding only what a registered version says it needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def uv_command() -> list[str]:
    """uv as `make` installed it: on the PATH, or as a module of the system Python."""
    found = shutil.which("uv")
    if found:
        return [found]
    for python in ("python3", sys.executable):
        if subprocess.run([python, "-m", "uv", "--version"], capture_output=True).returncode == 0:
            return [python, "-m", "uv"]
    raise RuntimeError("uv is needed for this test: `make test` installs it (pip install uv)")


def make_venv(where: Path, requirements: Path) -> Path:
    """A new venv at `where` with `requirements` installed at the locked versions (uv's cache
    makes this quick after `uv sync`); returns its python."""
    uv = uv_command()
    constraints = where.parent / "constraints.txt"
    exported = subprocess.run(
        [*uv, "export", "--frozen", "--no-hashes", "--no-emit-project"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    constraints.write_text(exported.stdout)
    subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(python),
         "-r", str(requirements), "-c", str(constraints)],
        check=True,
    )  # fmt: skip
    return python
