"""The marketing pages in a real browser: Chromium from Debian's packages, driven by
Selenium with the system chromedriver (nothing downloaded). The service runs for real on
127.0.0.1 over a home with a trained champion and published scores."""

from __future__ import annotations

import contextlib
import html
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from pipelines.home import open_registry
from serving.auth import KeyRing
from serving.launch import serve_command, serve_env
from tests.cli_helpers import own_home, run_ok
from tests.net_helpers import free_port, running
from tests.reason_phrases import check_every_reason

pytestmark = [pytest.mark.integration, pytest.mark.browser]
AXE = Path(__file__).parents[1] / "vendor" / "axe.min.js"
SHOTS = os.environ.get("RETAIN_SCREENSHOTS")  # a folder (docs/images) to keep the screenshots


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("pages")
    mp = pytest.MonkeyPatch()
    own_home(mp, root)
    mp.setenv("RETAIN_TRAINING_CUTOFFS", "4")
    mp.setenv("RETAIN_REASONS_TOP", "100")  # the page explains the rows it shows itself
    mp.setenv("RETAIN_CURRENCY", "EUR")  # every money figure must say so
    run_ok(
        "generate",
        "--out",
        str(root / "data"),
        "--customers",
        "2500",
        "--days",
        "730",
        "--seed",
        "11",
    )
    run_ok("train", "--data", str(root / "data"))
    run_ok("score")
    run_ok("monitor", "--out", str(root / "monitor.json"))
    home = root / "home"
    key = KeyRing(home / "api_keys.json").add("marketing", pd.Timestamp("2026-11-30"))
    port = free_port()
    env = serve_env(dict(os.environ), str(home), port, insecure=False, workers=1)
    url = f"http://127.0.0.1:{port}"
    with running(serve_command("127.0.0.1", port), env, f"{url}/livez", root / "server.log"):
        yield {"url": url, "key": key, "root": root}
    mp.undo()


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("chromium and chromedriver are missing: `make browser` installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(flag)
    downloads = site["root"] / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})  # fmt: skip
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: Any, name: str, tmp: Path) -> None:
    target = Path(SHOTS) if SHOTS else tmp
    target.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(target / f"{name}.png"))


def _accessibility_violations(driver: Any) -> list[str]:
    """axe-core (vendored) on the current page: WCAG 2 A and AA rules, labels and contrast."""
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => done(r.violations.map("
        "v => v.id + ': ' + v.nodes.length)));"
    )
    return list(found)


def _sign_in(driver: Any, site: dict[str, Any], key: str) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    driver.get(site["url"] + "/ui/sign-in")
    driver.find_element(By.NAME, "key").send_keys(key)
    button = driver.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    button.click()

    def answered() -> bool:
        """The sign-in page was replaced: its button is stale, or (Chromium, mid-navigation)
        'does not belong to the document'."""
        try:
            button.is_enabled()
        except WebDriverException:
            return True
        return False

    _wait(answered)


def test_without_a_session_every_page_redirects_to_sign_in(site: dict[str, Any]) -> None:
    for path in ("/ui/", "/ui/audience.csv?budget=10"):
        reply = httpx.get(site["url"] + path, follow_redirects=False, timeout=10)
        assert reply.status_code == 303 and reply.headers["location"] == "/ui/sign-in"
    forged = httpx.post(site["url"] + "/ui/sign-in", data={"key": site["key"]}, timeout=10)
    assert forged.status_code == 400 and "retain_session" not in forged.headers.get(
        "set-cookie", ""
    )


def test_a_wrong_key_does_not_sign_in(browser: Any, site: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, "not-a-key")
    assert "not valid" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert browser.current_url.endswith("/ui/sign-in")
    assert _accessibility_violations(browser) == []


def test_gold_budget_500_downloads_exactly_the_command_lines_file(
    browser: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/")  # opens on high risk: uncheck it, check gold
    browser.find_element(By.CSS_SELECTOR, "input[name=risk_tier][value=high]").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=value_tier][value=gold]").click()
    for name, value in (("budget", "500"), ("list_id", "PAGE-1")):
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "form[aria-label='audience filters'] button").click()
    _wait(lambda: browser.find_element(By.ID, "list-id").text == "PAGE-1")
    cli = site["root"] / "cli.csv"
    run_ok(
        "risk-list",
        "--value-tier",
        "gold",
        "--budget",
        "500",
        "--list-id",
        "PAGE-1",
        "--out",
        str(cli),
    )
    listed = pd.read_csv(cli)
    scores = pd.read_parquet(site["root"] / "home" / "scores" / "latest.parquet")
    exact = scores.set_index("customer_id").loc[listed["customer_id"], "churn_probability"]
    target = int((listed["group"] == "target").sum())
    assert browser.find_element(By.ID, "target").text == f"{target:,}"
    assert browser.find_element(By.ID, "control").text == f"{len(listed) - target:,}"
    assert float(
        browser.find_element(By.ID, "expected-churners").text.replace(",", "")
    ) == pytest.approx(exact.sum(), abs=0.05)
    _shot(browser, "audience-builder", tmp_path)
    assert _accessibility_violations(browser) == []
    assert _download_csv(browser, site, "risk_list.csv") == cli.read_bytes()


def test_the_page_works_on_a_phone(browser: Any, site: dict[str, Any], tmp_path: Path) -> None:
    _sign_in(browser, site, site["key"])
    browser.set_window_size(390, 844)
    try:
        browser.get(site["url"] + "/ui/?risk_tier=high&top=50")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 1  # nothing sticks out sideways (the table scrolls in its box)
        _shot(browser, "audience-builder-phone", tmp_path)
        assert _accessibility_violations(browser) == []
    finally:
        browser.set_window_size(1280, 1000)


def test_a_bad_filter_is_shown_not_crashed(browser: Any, site: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/?budget=many")
    assert (
        "budget: expected a whole number"
        in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    )


def test_signing_out_ends_the_session(browser: Any, site: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()
    _wait(lambda: browser.current_url.endswith("/ui/sign-in"))
    browser.get(site["url"] + "/ui/")
    assert browser.current_url.endswith("/ui/sign-in")


def _download_csv(browser: Any, site: dict[str, Any], name: str) -> bytes:
    """Click the page's "Download CSV" and read the file the browser saved (an earlier
    download of the same name removed first, so tests do not depend on their order)."""
    from selenium.webdriver.common.by import By

    folder = site["root"] / "downloads"
    for earlier in folder.glob(f"{Path(name).stem}*"):
        earlier.unlink()
    browser.find_element(By.LINK_TEXT, "Download CSV").click()
    saved = folder / name
    _wait(
        lambda: (
            saved.exists() and saved.stat().st_size > 0 and not list(folder.glob("*.crdownload"))
        )
    )
    return saved.read_bytes()


def _wait(condition: Any, seconds: float = 15) -> None:
    """Until `condition()` holds; an element htmx swapped out meanwhile counts as not yet."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        if time.monotonic() > deadline:
            pytest.fail("the page did not get there")
        time.sleep(0.1)


def test_due_soon_downloads_exactly_the_due_list(browser: Any, site: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(
        site["url"] + "/ui/due?within_days=30&min_order_probability=0.3&top=200&list_id=DUE-1"
    )
    listed = int(browser.find_element(By.ID, "target").text.replace(",", ""))
    downloaded = _download_csv(browser, site, "due_list.csv")
    cli = site["root"] / "cli_due.csv"
    run_ok("due-list", "--within-days", "30", "--min-order-probability", "0.3", "--top", "200",
           "--list-id", "DUE-1", "--out", str(cli))  # fmt: skip
    assert downloaded == cli.read_bytes()
    assert listed == int((pd.read_csv(cli)["group"] == "target").sum())


def test_a_customer_page_shows_scores_reasons_curve_and_history(
    browser: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    scores = pd.read_parquet(site["root"] / "home" / "scores" / "latest.parquet")
    unexplained = scores[scores["reasons"].fillna("") == ""].iloc[0]  # beyond reasons_top
    _sign_in(browser, site, site["key"])
    search = browser.find_element(By.ID, "customer-search")
    search.send_keys(str(unexplained["customer_id"]))
    search.submit()
    shown = browser.find_element(By.ID, "churn-probability").text
    assert shown == f"{unexplained['churn_probability']:.1%}"
    reasons = browser.find_elements(By.CSS_SELECTOR, "#reasons li:not(.muted)")
    assert reasons and all(  # each with its direction, in words and as a field
        r.text.endswith(f"({r.get_attribute('data-direction')} the risk)")
        and r.get_attribute("data-direction") in ("raises", "lowers")
        for r in reasons
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg circle")) >= 4  # the timing curve
    orders = pd.read_parquet(site["root"] / "data" / "orders.parquet")
    before = orders[(orders["customer_id"] == unexplained["customer_id"])
                    & (orders["ordered_at"] < unexplained["as_of"])]  # fmt: skip
    assert (
        f"Orders before {unexplained['as_of']:%Y-%m-%d} ({min(len(before), 100)}"
        in browser.page_source
    )
    priced = before.sort_values("ordered_at").tail(100)["amount"].notna().sum()
    money = _money_figures(browser)  # 3 figures, the average order and each order's amount
    assert len(money) >= 4 + priced and all("€" in m for m in money)
    _shot(browser, "customer-page", tmp_path)
    assert _accessibility_violations(browser) == []
    complaints = pd.read_parquet(site["root"] / "data" / "complaints.parquet")
    unresolved = complaints[complaints["resolved_at"].isna()
                            & (complaints["opened_at"] < scores["as_of"].iloc[0])
                            & complaints["customer_id"].isin(scores["customer_id"])]  # fmt: skip
    assert len(unresolved)  # an open complaint: no resolution time, no satisfaction
    browser.get(f"{site['url']}/ui/customer?id={unresolved['customer_id'].iloc[0]}")
    shown = browser.find_element(By.CSS_SELECTOR, "[aria-label=Complaints]").text
    assert str(unresolved["complaint_id"].iloc[0]) in shown
    browser.get(site["url"] + "/ui/customer?id=nobody")
    assert "No customer nobody" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text


def test_the_model_page_names_the_champion_and_its_baselines(
    browser: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/model")
    assert browser.find_element(By.ID, "champion").text == "version 1"
    assert "BG/NBD" in browser.page_source and "recency rule" in browser.page_source
    report = json.loads((site["root"] / "monitor.json").read_text())
    assert browser.find_element(By.ID, "monitor-decision").text.startswith(report["decision"])
    assert (
        report["runs"][0]["as_of"]
        in browser.find_element(By.CSS_SELECTOR, "[aria-label='scoring runs']").text
    )
    for chart in ("Reliability", "Lift"):  # logged with the training run, shown from MLflow
        image = browser.find_element(By.CSS_SELECTOR, f"img[alt^='{chart}']")
        assert browser.execute_script("return arguments[0].naturalWidth", image) > 300
    _shot(browser, "model-page", tmp_path)
    assert _accessibility_violations(browser) == []


def test_a_saved_list_reads_out_as_the_campaign_report_does(
    browser: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/?top=800&list_id=CAMP-1")
    browser.find_element(By.XPATH, "//button[starts-with(text(), 'Save list')]").click()
    _wait(lambda: "/ui/campaigns" in browser.current_url)
    saved = site["root"] / "home" / "lists" / "CAMP-1.csv"
    cli = site["root"] / "cli_camp.csv"
    run_ok("risk-list", "--top", "800", "--list-id", "CAMP-1", "--out", str(cli))
    assert saved.read_bytes() == cli.read_bytes()
    since = (pd.Timestamp(pd.read_csv(saved)["as_of"].iloc[0]) - pd.Timedelta(days=120)).date()
    browser.get(f"{site['url']}/ui/campaigns?list=CAMP-1&since={since}")
    shown = browser.find_element(By.ID, "conclusion").text
    out = site["root"] / "campaign.json"
    run_ok("campaign-report", "--list", str(saved), "--since", str(since), "--out", str(out))
    expected = json.loads(out.read_text())["overall"]["conclusion"]
    assert shown.startswith(expected)
    money = _money_figures(browser)  # revenue per customer of every group large enough
    assert money and all("€" in m for m in money)
    _shot(browser, "campaign-report", tmp_path)
    assert _accessibility_violations(browser) == []


def test_changing_a_filter_updates_the_figures_without_a_reload(
    browser: Any, site: dict[str, Any]
) -> None:
    """htmx (vendored) swaps the results when a filter changes; the address follows."""
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/?top=300")
    browser.execute_script("document.body.dataset.loaded = 'once'")  # gone if the page reloads
    before = browser.find_element(By.ID, "list-id").text  # the default id follows the filters
    browser.find_element(By.CSS_SELECTOR, "input[name=risk_tier][value=low]").click()
    _wait(lambda: "risk_tier=low" in browser.current_url)
    _wait(lambda: browser.find_element(By.ID, "list-id").text != before)
    assert {r.text for r in browser.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(5)")} == {
        "low"
    }
    assert browser.execute_script("return document.body.dataset.loaded") == "once"


def test_segment_and_region_filters_download_what_the_command_line_writes(
    browser: Any, site: dict[str, Any]
) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/?budget=100&list_id=R-1")
    browser.find_element(By.CSS_SELECTOR, "input[name=region][value=north]").click()
    _wait(lambda: "region=north" in browser.current_url)
    browser.find_element(By.CSS_SELECTOR, "input[name=segment]").click()  # the first segment
    _wait(lambda: "segment=" in browser.current_url)
    segment = browser.current_url.split("segment=")[1].split("&")[0]
    browser.get(browser.current_url)  # the address holds the filters
    downloaded = _download_csv(browser, site, "risk_list.csv")
    cli = site["root"] / "cli_region.csv"
    run_ok("risk-list", "--budget", "100", "--region", "north", "--segment", segment,
           "--list-id", "R-1", "--out", str(cli))  # fmt: skip
    assert downloaded == cli.read_bytes()
    assert set(pd.read_csv(cli)["region"]) == {"north"}


@contextlib.contextmanager
def _session(site: dict[str, Any], key: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in to the pages with `key` (the session cookie it holds)."""
    with httpx.Client(base_url=site["url"], timeout=30) as client:
        token = _csrf(client.get("/ui/sign-in").text)
        answer = client.post("/ui/sign-in", data={"key": key, "csrf": token})
        assert answer.status_code == 303 and "retain_session" in client.cookies
        yield client


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]


def test_replaying_the_cookie_after_sign_out_leads_to_sign_in(site: dict[str, Any]) -> None:
    with _session(site, site["key"]) as client:
        cookie = client.cookies["retain_session"]
        page = client.get("/ui/?top=5")
        assert page.status_code == 200
        assert client.post("/ui/sign-out", data={"csrf": _csrf(page.text)}).status_code == 303
    replayed = httpx.get(site["url"] + "/ui/?top=5", cookies={"retain_session": cookie}, timeout=30)
    assert replayed.status_code == 303 and replayed.headers["location"] == "/ui/sign-in"


def test_revoking_a_key_ends_its_sessions(site: dict[str, Any]) -> None:
    ring = KeyRing(site["root"] / "home" / "api_keys.json")
    temporary = ring.add("temporary", pd.Timestamp("2026-11-30"))
    with _session(site, temporary) as client:
        assert client.get("/ui/?top=5").status_code == 200
        ring.revoke("temporary")
        answer = client.get("/ui/?top=5")
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/sign-in"


def test_a_huge_top_and_a_formula_list_id_are_refused_with_a_message(site: dict[str, Any]) -> None:
    with _session(site, site["key"]) as client:
        huge = client.get("/ui/", params={"top": "99999999999999999999"})
        assert huge.status_code == 400 and "top: expected a whole number from 1 to" in huge.text
        for path in ("/ui/audience.csv", "/ui/audience.xlsx"):
            formula = client.get(path, params={"top": "10", "list_id": '=HYPERLINK("http://x")'})
            assert formula.status_code == 400 and "list_id: expected letters" in formula.text
        long_id = client.get("/ui/", params={"list_id": "a" * 5000})
        assert long_id.status_code == 400 and "at most 80" in long_id.text
        backwards = client.get("/ui/campaigns", params={"list": "x", "since": "2026-02-01"})
        assert (
            backwards.status_code == 400
            and "list: expected one of the saved lists" in backwards.text
        )


def test_random_input_to_every_page_never_answers_500(site: dict[str, Any]) -> None:
    """Random strings and numbers in every form and query parameter of every page, in process
    (Starlette's TestClient over the same app `retain serve` mounts): 400 with a message, 404 or
    a page, never 500, over at least 2,000 requests."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from starlette.testclient import TestClient

    from serving.ui.mount import PagesMount

    async def api(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("only pages are asked for")

    client = TestClient(PagesMount(api), raise_server_exceptions=False)
    sign_in = client.get("/ui/sign-in")
    client.post("/ui/sign-in", data={"key": site["key"], "csrf": _csrf(sign_in.text)})
    csrf = _csrf(client.get("/ui/?top=1").text)
    fields = {
        "/ui/": ["min_probability", "max_probability", "budget", "top", "list_id",
                 "control_share", "sort", "risk_tier", "value_tier", "segment", "region",
                 "rank_by", "exclude_hurt"],
        "/ui/due": ["within_days", "min_order_probability", "top", "list_id", "control_share",
                    "sort", "category"],
        "/ui/audience.csv": ["top", "budget", "min_probability", "max_probability", "list_id",
                             "control_share", "rank_by", "exclude_hurt"],
        "/ui/due.xlsx": ["within_days", "min_order_probability", "top", "list_id", "category"],
        "/ui/campaigns": ["list", "since", "until"],
        "/ui/customer": ["id"],
    }  # fmt: skip
    value = st.one_of(
        st.text(max_size=40),
        st.integers(-(10**30), 10**30).map(str),
        st.floats().map(repr),
        st.sampled_from(["", "nan", "inf", "-inf", "1e999", "-0", "0", "1", "0.5", "2", "high",
                         "gold", "north", "2026-01-01", "01/22/2026", "=1+1", "a" * 5000]),
    )  # fmt: skip
    request = st.one_of(
        st.sampled_from(sorted(fields)).flatmap(
            lambda path: st.tuples(st.just(path), st.dictionaries(st.sampled_from(fields[path]), value, max_size=4))
        ),
        st.tuples(st.just("/ui/save"), st.dictionaries(st.sampled_from(fields["/ui/"]), value, max_size=3)),
        st.tuples(st.just("/ui/sign-in"), st.fixed_dictionaries({"key": value, "csrf": value})),
        st.tuples(st.just("/ui/sign-out"), st.fixed_dictionaries({"csrf": value})),
    )  # fmt: skip
    answered: list[int] = []

    @settings(max_examples=2000, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(request)
    def never_500(asked: tuple[str, dict[str, str]]) -> None:
        path, params = asked
        if path == "/ui/save":
            form = {"csrf": csrf, "kind": "risk", "query": str(httpx.QueryParams(params))}
            reply = client.post(path, data=form, follow_redirects=False)
        elif path in ("/ui/sign-in", "/ui/sign-out"):  # a random token never signs out
            reply = client.post(path, data=params, follow_redirects=False)
        else:
            reply = client.get(path, params=params, follow_redirects=False)
        answered.append(reply.status_code)
        assert reply.status_code < 500, (path, params, reply.text[-500:])
        if reply.status_code == 400 and path not in ("/ui/sign-in", "/ui/sign-out"):
            assert 'role="alert"' in reply.text  # the page, with its message

    never_500()
    assert len(answered) >= 2000 and 500 not in answered
    assert {200, 400} <= set(answered)  # both kinds of answer were reached


def _money_figures(browser: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".money")]


def test_the_first_screen_is_the_default_selection_in_the_currency(
    browser: Any, site: dict[str, Any]
) -> None:
    from selenium.webdriver.common.by import By

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/")
    checked = browser.find_elements(By.CSS_SELECTOR, "input[name=risk_tier]:checked")
    assert [c.get_attribute("value") for c in checked] == ["high"]
    assert browser.find_element(By.NAME, "budget").get_attribute("value") == "1000"
    cli = site["root"] / "cli_default.csv"
    run_ok("risk-list", "--tier", "high", "--budget", "1000", "--out", str(cli))
    listed = pd.read_csv(cli)
    scores = pd.read_parquet(site["root"] / "home" / "scores" / "latest.parquet")
    target = int((listed["group"] == "target").sum())
    assert browser.find_element(By.ID, "target").text == f"{target:,}"
    assert 0 < target <= 1000 and len(listed) < len(scores)  # not everyone
    shown = _money_figures(browser)
    assert shown and all("€" in m for m in shown)
    browser.get(site["url"] + "/ui/due?within_days=30&min_order_probability=0.3&top=20")
    shown = _money_figures(browser)
    assert shown and all("€" in m for m in shown)
    assert "P(order within 30 days)" in browser.page_source


def test_the_churn_risk_range_moves_the_estimates_live(browser: Any, site: dict[str, Any]) -> None:
    """Two handles over the churn score (plain HTML and the app's own script, no CDN): from
    the default selection, moving either changes the contacts, expected churners and value
    at risk without a reload, to what `retain risk-list` gives for that range; the handles
    never cross."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/")
    browser.execute_script("document.body.dataset.loaded = 'once'")  # gone if the page reloads
    low, high = (browser.find_element(By.ID, f"{end}_probability") for end in ("min", "max"))
    assert (low.get_attribute("value"), high.get_attribute("value")) == ("0", "1")
    assert browser.find_element(By.ID, "range-said").text == "0% to 100%"
    assert not [s for s in browser.find_elements(By.TAG_NAME, "script")
                if not (s.get_attribute("src") or "").startswith(site["url"] + "/ui/static/")]  # fmt: skip

    def figures() -> tuple[str, ...]:
        return tuple(browser.find_element(By.ID, i).text
                     for i in ("target", "expected-churners", "value-at-risk"))  # fmt: skip

    first = figures()
    high.send_keys(*[Keys.ARROW_LEFT] * 20)  # to 80 %
    assert browser.find_element(By.ID, "range-said").text == "0% to 80%"  # as it moves
    _wait(lambda: "max_probability=0.8" in browser.current_url and figures() != first)
    second = figures()
    low.send_keys(*[Keys.ARROW_RIGHT] * 70)  # to 70 %
    _wait(lambda: "min_probability=0.7" in browser.current_url and figures() != second)
    low.send_keys(*[Keys.ARROW_RIGHT] * 20)  # would pass the other handle: stops at it
    assert low.get_attribute("value") == "0.8"
    _wait(lambda: "min_probability=0.8" in browser.current_url)
    low.send_keys(*[Keys.ARROW_LEFT] * 5)  # back to 75 %
    _wait(lambda: "min_probability=0.75" in browser.current_url)
    _wait(lambda: "from <strong>75%</strong> to <strong>80%</strong>" in browser.page_source)
    assert browser.execute_script("return document.body.dataset.loaded") == "once"
    cli = site["root"] / "cli_range.csv"
    run_ok("risk-list", "--tier", "high", "--budget", "1000", "--min-probability", "0.75",
           "--max-probability", "0.8", "--out", str(cli))  # fmt: skip
    listed = pd.read_csv(cli)
    target = listed[listed["group"] == "target"]
    assert listed["churn_probability"].between(0.75, 0.8).all()
    assert figures()[0] == f"{len(target):,}" and figures() != first
    assert _accessibility_violations(browser) == []


def test_every_reason_the_pages_can_show_is_an_allowed_phrase(site: dict[str, Any]) -> None:
    """The scores behind the pages, and every customer of them explained as a page would: only
    allowed phrases, each with its direction (tests/reason_phrases.py)."""
    from pipelines.settings import load_settings

    scores = pd.read_parquet(site["root"] / "home" / "scores" / "latest.parquet")
    check_every_reason(scores, load_settings(), [])


def test_a_likely_churner_has_no_unconditional_next_order_date(
    browser: Any, site: dict[str, Any]
) -> None:
    from selenium.webdriver.common.by import By

    scores = pd.read_parquet(site["root"] / "home" / "scores" / "latest.parquet")
    risky = scores[(scores["churn_probability"] > 0.5) & scores["next_order_date"].notna()].iloc[0]
    _sign_in(browser, site, site["key"])
    browser.get(f"{site['url']}/ui/customer?id={risky['customer_id']}")
    said = browser.find_element(By.ID, "next-order").text
    assert said.startswith("Next order: unlikely to order in 90 days")
    assert f"{pd.Timestamp(risky['next_order_date']).date()}" not in browser.page_source
    assert browser.find_element(By.ID, "order-within-90").text == (
        f"{1 - risky['churn_probability']:.1%}"
    )
    assert all("€" in m for m in _money_figures(browser))
    likely = scores[scores["churn_probability"] < 0.3].iloc[0]
    browser.get(f"{site['url']}/ui/customer?id={likely['customer_id']}")
    said = browser.find_element(By.ID, "next-order").text
    assert said.startswith("Next order: if they order: around ")
    assert str(pd.Timestamp(likely["next_order_date"]).date()) in said
    assert _accessibility_violations(browser) == []


def test_the_model_verdict_follows_the_documented_thresholds(
    browser: Any, site: dict[str, Any]
) -> None:
    """Good: lift >= 1.5 and within 5 points; Fair: >= 1.2 and within 10; else Weak
    (README "Model verdict"), on the champion's validation figures in MLflow."""
    from selenium.webdriver.common.by import By

    from pipelines.settings import load_settings

    metrics = open_registry(load_settings()).run_metrics("1")
    lift, points = metrics["model.top_decile_lift"], 100 * metrics["model.churn_ece"]
    word = ("Good" if lift >= 1.5 and points <= 5
            else "Fair" if lift >= 1.2 and points <= 10 else "Weak")  # fmt: skip
    _sign_in(browser, site, site["key"])
    browser.get(site["url"] + "/ui/model")
    shown = browser.find_element(By.ID, "verdict").text
    assert shown.startswith(f"{word}: the riskiest 10 % churn {lift:.1f}x as often as average")
    champion = open_registry(load_settings()).champion_version()  # the alias, not training's text
    assert browser.find_element(By.ID, "champion").text == f"version {champion}"


def test_a_saved_audience_fetched_by_url_follows_new_scores(site: dict[str, Any]) -> None:
    """Runs last: it scores again (an earlier as-of), which the tests above do not expect."""
    from pipelines.marketing.lists import control_draw

    with _session(site, site["key"]) as client:
        page = client.get("/ui/?top=300&risk_tier=high&list_id=LIVE-1")
        saved = client.post("/ui/save", data={"csrf": _csrf(page.text), "kind": "risk",
                                              "query": "top=300&risk_tier=high&list_id=LIVE-1"})  # fmt: skip
        assert saved.status_code == 303
    url, key = site["url"] + "/v1/audiences/LIVE-1.csv", {"Authorization": f"Bearer {site['key']}"}
    assert httpx.get(url, timeout=30).status_code == 401  # an API route: a key is needed
    assert (
        httpx.get(site["url"] + "/v1/audiences/NONE.csv", headers=key, timeout=30).json()["error"]
        == "not found"
    )
    before = httpx.get(url, headers=key, timeout=60)
    cli = site["root"] / "cli_live.csv"
    run_ok("risk-list", "--top", "300", "--tier", "high", "--list-id", "LIVE-1", "--out", str(cli))
    assert before.status_code == 200 and before.content == cli.read_bytes()
    as_of = pd.read_csv(cli)["as_of"].iloc[0]
    run_ok("score", "--as-of", str((pd.Timestamp(as_of) - pd.Timedelta(days=60)).date()))
    after = httpx.get(url, headers=key, timeout=60)
    run_ok("risk-list", "--top", "300", "--tier", "high", "--list-id", "LIVE-1", "--out", str(cli))
    assert after.status_code == 200 and after.content == cli.read_bytes() != before.content
    listed = pd.read_csv(cli, dtype={"customer_id": str})
    assert listed["as_of"].iloc[0] != as_of  # the new scores
    control = control_draw(listed["customer_id"], "LIVE-1") < 0.10  # the same control rule
    assert (listed["group"] == "control").tolist() == control.tolist()
    with _session(site, site["key"]) as client:
        shown = client.get("/ui/campaigns").text
    assert 'id="refreshed-LIVE-1">20' in shown  # when it was last fetched


def _in_process(site: dict[str, Any]) -> Any:
    """A client signed in to the pages in process (the app `retain serve` mounts)."""
    from starlette.testclient import TestClient

    from serving.ui.mount import PagesMount

    async def api(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("only pages are asked for")

    client = TestClient(PagesMount(api), raise_server_exceptions=False)
    token = _csrf(client.get("/ui/sign-in").text)
    client.post("/ui/sign-in", data={"key": site["key"], "csrf": token})
    return client


def _same_file(client: Any, root: Path, query: str, *options: str) -> str:
    """The page's download for `query` equals `risk-list --rank-by saved-value`'s file."""
    out = root / "saved_value.csv"
    said = run_ok("risk-list", "--rank-by", "saved-value", *options, "--out", str(out))
    page = client.get(f"/ui/audience.csv?rank_by=saved_value&{query}")
    assert page.status_code == 200 and page.content == out.read_bytes()
    return said


def test_ranked_by_saved_value_the_page_is_the_command_line(site: dict[str, Any]) -> None:
    """Without an uplift model both say the same one-line fallback and give the same file (and
    the page says no uplift model is evaluated); with a registered champion the same
    saved-value file, its Qini curve, the hurt customers flagged on the page (and left out of
    both on request), the incremental orders shown."""
    from pipelines.marketing.saved_value import NO_MODEL, fallback_line, register, train_and_judge
    from pipelines.settings import load_settings
    from tests.uplift_world import toy_campaign

    client, root = _in_process(site), site["root"]
    said = _same_file(client, root, "top=60&list_id=SV-A", "--top", "60", "--list-id", "SV-A")
    line = fallback_line(NO_MODEL)
    shown = client.get("/ui/?rank_by=saved_value&top=60").text
    assert line in said and line in html.unescape(" ".join(shown.split()))
    assert 'id="qini-none"' in shown and '<figure id="qini">' not in shown  # none evaluated
    assert 'id="qini-none"' not in client.get("/ui/?top=60").text  # asked by saved value only
    moved = [toy_campaign("c1", "2025-01-01", 1), toy_campaign("c2", "2025-04-01", 2)]
    judged = train_and_judge(pd.concat(moved), bags=2)
    register(load_settings(), judged)
    _shows_the_qini_curve(client.get("/ui/?rank_by=saved_value&top=60").text, judged)
    said = _same_file(client, root, "min_probability=0.3&list_id=SV-B",
                      "--min-probability", "0.3", "--list-id", "SV-B")  # fmt: skip
    assert "not saved value" not in said
    listed = pd.read_csv(root / "saved_value.csv")
    target = listed[listed["group"] == "target"]
    assert listed["saved_value"].is_monotonic_decreasing
    page = client.get("/ui/?rank_by=saved_value&min_probability=0.3&list_id=SV-B").text
    hurt = int(page.split('id="hurt">')[1].split("<")[0].replace(",", ""))
    assert hurt == (target["uplift_high"] < 0).sum() > 0
    orders = float(page.split('id="incremental-orders">')[1].split("<")[0].replace(",", ""))
    rounding = 0.05 + 0.0005 * len(target)  # the file's uplift has 3 decimals, the page 1
    assert orders == pytest.approx(target["uplift"].sum(), abs=rounding) and orders > 0
    assert 'id="incremental-value"' in page
    _same_file(client, root, "min_probability=0.3&list_id=SV-C&exclude_hurt=1",
               "--min-probability", "0.3", "--list-id", "SV-C", "--exclude-hurt")  # fmt: skip
    kept = pd.read_csv(root / "saved_value.csv")
    assert (kept["uplift_high"] >= 0).all()
    assert len(kept) == len(listed) - (listed["uplift_high"] < 0).sum()


def test_hostile_ranking_input_is_a_message_not_a_crash(site: dict[str, Any]) -> None:
    client = _in_process(site)
    for query, field in [("rank_by=saved", "rank_by"), ("rank_by=%3Cscript%3E", "rank_by"),
                         ("exclude_hurt=maybe", "exclude_hurt"),
                         ("rank_by=saved_value&top=-1", "top")]:  # fmt: skip
        for path in ("/ui/", "/ui/audience.csv"):
            reply = client.get(f"{path}?{query}")
            assert reply.status_code == 400 and 'role="alert"' in reply.text, (path, query)
            assert f"{field}: expected" in reply.text and "<script>'" not in reply.text


def test_a_list_saved_from_the_page_keeps_the_command_lines_campaign_snapshot(
    site: dict[str, Any],
) -> None:
    """So a campaign made on the page can be collected and learned from like a CLI one."""
    from pipelines.home import Home
    from pipelines.marketing.outcomes import load_snapshot
    from pipelines.settings import load_settings

    home, query = Home.of(load_settings()), "top=400&risk_tier=high&list_id=SNAP-1"
    with _session(site, site["key"]) as client:
        page = client.get(f"/ui/?{query}")
        saved = client.post("/ui/save", data={"csrf": _csrf(page.text), "kind": "risk",
                                              "query": query})  # fmt: skip
    assert saved.status_code == 303
    from_page = load_snapshot(home, "SNAP-1")
    assert len(from_page) == 400 and {"target", "control"} == set(from_page["group"])
    assert from_page["tenure_days"].notna().all()  # each customer's feature row at list time
    run_ok("risk-list", "--top", "400", "--tier", "high", "--list-id", "SNAP-1",
           "--out", str(site["root"] / "snap.csv"))  # fmt: skip
    pd.testing.assert_frame_equal(load_snapshot(home, "SNAP-1"), from_page)


def _shows_the_qini_curve(page: str, judged: Any) -> None:
    """The champion's Qini curve on its held-out campaign: an inline SVG drawn from the report
    `campaigns train` logged (no remote asset), with its coefficient."""
    figure = page.split('<figure id="qini">')[1].split("</figure>")[0]
    assert "<polyline" in figure and judged.held_out in figure and "http" not in figure
    shown = float(figure.split('id="qini-coefficient">')[1].split("<")[0])
    assert shown == pytest.approx(judged.qini.value, abs=5e-5) and shown > 0
    points = figure.split('points="')[1].split('"')[0].split()
    assert len(points) == 101  # the curve itself, drawn from the logged figures
