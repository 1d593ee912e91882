"""`make docs`: the API reference builds from the docstrings, lists every function of
`import retain`, and the site loads nothing from the network (no CDN)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import retain

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
# what a browser would fetch: scripts, style sheets, fonts and images, in pages and styles
REMOTE = re.compile(
    r"""<(?:script|img|iframe)[^>]*\ssrc=["']?(?:https?:)?//"""
    r"""|<link[^>]*\shref=["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//""",
    re.I,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "docs/mkdocs.yml"]
    done = subprocess.run([*command, "-d", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def test_the_reference_lists_every_api_function(site: Path) -> None:
    page = (site / "reference.html").read_text()
    anchors = set(re.findall(r'id="pipelines\.api\.(\w+)"', page))
    assert set(retain.__all__) <= anchors, set(retain.__all__) - anchors
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "Train on events before as_of (default: all)" in text  # the docstring, rendered


def test_the_notebook_example_is_in_the_site(site: Path) -> None:
    page = re.sub(r"<[^>]+>", "", (site / "notebook.html").read_text())
    assert "retain.load_champion" in page and "retain.due_list" in page


def test_the_site_loads_nothing_from_the_network(site: Path) -> None:
    remote = {}
    for path in site.rglob("*"):
        if path.suffix in {".html", ".css", ".js"}:
            found = REMOTE.findall(path.read_text(errors="replace"))
            if found:
                remote[str(path.relative_to(site))] = found[:3]
    assert not remote, remote
