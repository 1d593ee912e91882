"""The pages over a world of order lines with categories, in process (Starlette's TestClient
over the app `retain serve` mounts, keys off): the "Due soon" page's category filter, its
download against `retain due-list --category`, hostile categories, and the customer page's
category curves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from serving.auth import INSECURE_ENV
from tests.cli_helpers import own_home, run_ok


def _client(root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from starlette.testclient import TestClient

    from serving.ui.mount import PagesMount

    own_home(monkeypatch, root)
    monkeypatch.setenv(INSECURE_ENV, "1")

    async def api(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("only pages are asked for")

    return TestClient(PagesMount(api), raise_server_exceptions=False)  # no lifespan: pages only


@pytest.fixture
def pages(lines_world: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield _client(lines_world, monkeypatch)


def test_without_category_curves_a_category_is_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No category scores kept (orders, or lines without categories): the page has no
    category select, and a category asked for by hand says why there is none."""
    client = _client(tmp_path, monkeypatch)
    for path in ("/ui/due", "/ui/due.csv"):
        answer = client.get(path, params={"category": "pet food", "within_days": "14"})
        assert answer.status_code == 400 and 'role="alert"' in answer.text
        assert "category: no category scores: they need order lines with categories" in answer.text
    assert 'id="category"' not in client.get("/ui/due").text


@pytest.mark.slow
@pytest.mark.integration
def test_a_category_download_is_the_command_lines_file_byte_for_byte(
    pages: Any, lines_world: Path
) -> None:
    asked = {"category": "pet food", "within_days": "21", "min_order_probability": "0.3"}
    page = pages.get("/ui/due", params=asked)
    assert page.status_code == 200, page.text[-300:]
    options = re.findall(r'<option value="([^"]*)"', page.text.split('id="category"')[1])
    assert "pet food" in options and options[0] == ""  # "any order" first
    downloaded = pages.get("/ui/due.csv", params=asked)
    assert downloaded.status_code == 200
    cli = lines_world / "pet_food_21.csv"
    run_ok("due-list", "--category", "pet food", "--within-days", "21",
           "--min-order-probability", "0.3", "--out", str(cli))  # fmt: skip
    assert downloaded.content == cli.read_bytes()
    listed = pd.read_csv(cli)
    assert len(listed) > 0 and (listed["purchase_probability"] >= 0.3).all()
    target = int(re.search(r'id="target">([\d,]+)<', page.text)[1].replace(",", ""))  # type: ignore[index]
    assert target == int((listed["group"] == "target").sum())
    assert "buys pet food every" in page.text


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize(
    "category",
    ["no such category", "' OR 1=1 --", "<script>alert(1)</script>", '=HYPERLINK("http://x")',
     "pet food\x00", "a" * 5000],
)  # fmt: skip
def test_a_hostile_category_is_a_message_never_a_crash(pages: Any, category: str) -> None:
    for path in ("/ui/due", "/ui/due.csv", "/ui/due.xlsx"):
        answer = pages.get(path, params={"category": category, "within_days": "14"})
        assert answer.status_code == 400, (path, answer.status_code)
        assert 'role="alert"' in answer.text and "category:" in answer.text
        assert "<script>alert" not in answer.text  # shown escaped


@pytest.mark.slow
@pytest.mark.integration
def test_the_customer_page_draws_each_next_categorys_curve(pages: Any, lines_world: Path) -> None:
    scores = pd.read_parquet(lines_world / "home" / "scores" / "latest.parquet")
    cells = scores.set_index("customer_id")["next_categories"].map(json.loads)
    customer = cells[cells.map(len) == 3].index[0]
    page = pages.get("/ui/customer", params={"id": customer})
    assert page.status_code == 200
    shown = re.findall(r'class="category-curve" data-category="([^"]*)"', page.text)
    assert shown == [c["category"] for c in cells[customer]]
    section = page.text.split('id="next-categories"')[1].split("</section>")[0]
    assert section.count("<polyline") == 3 and "http" not in section.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    first = cells[customer][0]
    assert f"{first['probability_30d']:.0%} within 30 days" in section
