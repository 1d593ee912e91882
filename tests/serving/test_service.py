"""The scoring service: the lookup store and keys in process, then the BentoML server started
for real on 127.0.0.1 with keys, limits and readiness."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pandas as pd
import pytest

from models.explain import directions_cell
from models.scorer import SCORE_COLUMNS
from pipelines.home import Home
from pipelines.scoring.publish import publish_lookup
from serving.auth import KeyRing
from serving.launch import serve_command, serve_env
from serving.store import INDEX_LOOKUP_IDS, ScoreStore
from tests.net_helpers import free_port, running

AS_OF = pd.Timestamp("2025-06-01")


C1_REASONS = ("last order 143 days ago, usually every 30 days (raises the risk); "
              "1 order in the last 90 days (lowers the risk)")  # fmt: skip


C1_CATEGORIES = (
    '[{"category":"pet food","probability_30d":0.81,"expected_days":12.5},'
    '{"category":"bread","probability_30d":0.4,"expected_days":null}]'
)


def _scores(version: str = "7") -> pd.DataFrame:
    rows = [
        ("c1", 0.82, "high", 20.0, 5.0, 60.0, C1_REASONS),
        ("c2", 0.10, "low", 8.0, 2.0, 15.0, ""),
        ("c3", 0.40, "medium", 12.0, 3.0, 40.0, ""),
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id", "churn_probability", "risk_tier", "expected_days_to_next_order",
            "next_order_p10_days", "next_order_p90_days", "reasons",
        ],
    )  # fmt: skip
    frame["as_of"] = AS_OF
    frame["next_order_date"] = AS_OF + pd.to_timedelta(
        frame["expected_days_to_next_order"], unit="D"
    )
    for days, share in ((7, 0.2), (14, 0.4), (30, 0.7)):
        frame[f"order_probability_{days}d"] = (1 - frame["churn_probability"]) * share
    frame["value_tier"] = ["gold", "bronze", "silver"]
    frame["expected_value"] = [100.0, 20.0, 50.0]
    frame["value_at_risk"] = frame["churn_probability"] * frame["expected_value"]
    frame["reason_directions"] = frame["reasons"].map(directions_cell)
    frame["predicted_clv_365d"] = frame["expected_value"] * 3
    frame["predicted_clv_365d_p10"] = 0.0
    frame["predicted_clv_365d_p90"] = frame["expected_value"] * 8
    frame["next_categories"] = [C1_CATEGORIES, "[]", "[]"]
    frame["model_version"] = version
    frame["scored_at"] = AS_OF
    return frame[list(SCORE_COLUMNS)]


def _features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "mean_days_between_orders": [30.0, float("nan"), 12.0],
            "avg_order_value": [40.0, 20.0, 25.0],
            "net_avg_order_value": [40.0, 20.0, 25.0],
            "spend_total": [400.0, 20.0, 250.0],
            "net_spend_total": [400.0, 20.0, 250.0],
            "orders_total": [10.0, 1.0, 10.0],
        }
    )


def _publish(root: Path, version: str = "7") -> Home:
    home = Home(root)
    home.lookup_pointer.parent.mkdir(parents=True, exist_ok=True)
    _scores(version).to_parquet(scores := root / "scores.parquet")
    _features().to_parquet(features := root / "features.parquet")
    publish_lookup(duckdb.connect(), scores, features, home.lookup_pointer)
    return home


def test_lookup_known_and_unknown_with_crm_fields(tmp_path: Path) -> None:
    got = ScoreStore(_publish(tmp_path)).lookup(["c1", "zz"])
    assert got.model_version == "7" and got.as_of == "2025-06-01" and got.scored_at
    c1, zz = got.results
    assert c1.found and c1.churn_probability == pytest.approx(0.82)
    assert c1.reasons == C1_REASONS.split("; ")
    assert c1.reason_directions == ["raises", "lowers"]
    assert (c1.percentile, c1.permille) == (100, 1000)  # the riskiest of the base
    assert c1.average_order_value == 40.0 and c1.historic_clv == 400.0
    assert c1.expected_date_of_next_order == c1.next_order_date
    assert not zz.found and "unknown customer_id" in (zz.error or "")


def test_next_categories_are_listed_and_match_the_spec(tmp_path: Path) -> None:
    """The scores' JSON cell as the API's list (most likely first, a null day kept null; no
    categories: an empty list), the answer valid against the served OpenAPI spec, by few
    ids or many."""
    import jsonschema_rs

    from serving.contract import openapi_spec
    from serving.service import RetainService

    spec = openapi_spec(RetainService)
    schema = {"$ref": "#/components/schemas/ScoreResponse", "components": spec["components"]}
    check = jsonschema_rs.validator_for(schema)
    store = ScoreStore(_publish(tmp_path))
    many = [f"x{i}" for i in range(INDEX_LOOKUP_IDS)] + ["c1", "c2"]
    for asked in (["c1", "c2"], many):
        answer = store.lookup(asked)
        check.validate(answer.model_dump(mode="json"))
        got = {r.customer_id: r for r in answer.results}
        assert [c.model_dump() for c in got["c1"].next_categories] == [
            {"category": "pet food", "probability_30d": 0.81, "expected_days": 12.5},
            {"category": "bread", "probability_30d": 0.4, "expected_days": None},
        ]
        assert all(r.next_categories == [] for c, r in got.items() if c != "c1")
    item = spec["components"]["schemas"]["NextCategory"]
    assert set(item["required"]) == {"category", "probability_30d", "expected_days"}


def test_a_customer_reads_the_same_among_few_ids_or_many(tmp_path: Path) -> None:
    """A few ids are made plain in Python, many by the query (serving.store._rows): the same
    answer either way, NaN as null (c2 has no gap between orders) and dates as YYYY-MM-DD."""
    store = ScoreStore(_publish(tmp_path))
    many = [f"x{i}" for i in range(INDEX_LOOKUP_IDS)] + ["c1", "c2", "c3"]
    assert len(set(many)) > INDEX_LOOKUP_IDS
    by_many = {r.customer_id: r for r in store.lookup(many).results}
    for c in ("c1", "c2", "c3"):
        alone = store.lookup([c]).results[0]
        assert alone == by_many[c] and alone.found
    assert by_many["c2"].average_days_between_orders is None
    assert by_many["c1"].next_order_date == "2025-06-21" and by_many["x0"].found is False


def test_no_scores_yet_is_a_per_item_error(tmp_path: Path) -> None:
    store = ScoreStore(Home(tmp_path))
    got = store.lookup(["c1"])
    assert not store.ready and got.model_version is None
    assert "retain score" in (got.results[0].error or "")


def test_a_new_run_is_picked_up_and_old_files_pruned(tmp_path: Path) -> None:
    home = _publish(tmp_path, "7")
    store = ScoreStore(home)
    assert store.lookup(["c1"]).model_version == "7"
    time.sleep(0.01)
    for version in ("8", "9"):
        _publish(tmp_path, version)
        os.utime(home.lookup_pointer, (time.time() + 5, time.time() + 5))
    assert store.lookup(["c1"]).model_version == "9"
    assert len(list((tmp_path / "scores").glob("lookup-*.duckdb"))) == 2  # current + previous
    assert home.current_lookup() is not None


def test_keys_are_kept_as_salted_hashes(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys.json")
    key = ring.add("crm", pd.Timestamp("2026-11-30"))
    assert ring.name_of(key) == "crm" and ring.name_of(key + "x") is None
    assert key not in (tmp_path / "keys.json").read_text()
    assert ring.revoke("crm") and ring.name_of(key) is None


CRM_ORIGIN = "https://crm.example.com"
LIMITED = "limited-app"  # a key allowed 10 requests per second (RETAIN_KEY_RATE_LIMITS)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    home = tmp_path_factory.mktemp("serve-home")
    _publish(home)
    key = KeyRing(home / "api_keys.json").add("crm-app", pd.Timestamp("2026-11-30"))
    port = free_port()
    env = serve_env(dict(os.environ), str(home), port, insecure=False, workers=1)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{home}/mlflow.db"
    env["RETAIN_CORS_ALLOWED_ORIGINS"] = f'["{CRM_ORIGIN}"]'
    env["RETAIN_KEY_RATE_LIMITS"] = f'{{"{LIMITED}": 10}}'
    url = f"http://127.0.0.1:{port}"
    with running(serve_command("127.0.0.1", port), env, f"{url}/livez", home / "server.log"):
        yield url, key, home


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.integration
def test_score_needs_a_valid_key(server) -> None:
    url, key, _home = server
    body = {"customer_ids": ["c1", "nobody"]}
    assert httpx.post(f"{url}/score", json=body, timeout=10).status_code == 401
    wrong = httpx.post(f"{url}/score", json=body, headers=_auth("nope"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
    reply = httpx.post(f"{url}/score", json=body, headers=_auth(key), timeout=10)
    assert reply.status_code == 200
    got = reply.json()
    assert got["model_version"] == "7" and got["results"][0]["percentile"] == 100
    assert got["results"][1]["found"] is False
    history = {"as_of": "2025-06-01", "customer_id": "c9", "orders": []}
    assert httpx.post(f"{url}/score/history", json=history, timeout=10).status_code == 401


@pytest.mark.integration
def test_a_revoked_key_is_refused_without_a_restart(server) -> None:
    url, _, home = server
    ring = KeyRing(home / "api_keys.json")
    temporary = ring.add("temp", pd.Timestamp("2026-11-30"))
    body = {"customer_ids": ["c1"]}
    assert (
        httpx.post(f"{url}/score", json=body, headers=_auth(temporary), timeout=10).status_code
        == 200
    )
    ring.revoke("temp")
    time.sleep(0.05)
    assert (
        httpx.post(f"{url}/score", json=body, headers=_auth(temporary), timeout=10).status_code
        == 401
    )


@pytest.mark.integration
def test_refused_requests_are_counted_on_metrics(server) -> None:
    url, _, _ = server
    httpx.post(f"{url}/score", json={"customer_ids": ["c1"]}, timeout=10)
    metrics = httpx.get(f"{url}/metrics", timeout=10)
    assert metrics.status_code == 200
    counted = [
        line
        for line in metrics.text.splitlines()
        if line.startswith("retain_unauthorized_requests_total")
    ]
    assert counted and float(counted[0].split()[-1]) >= 1


@pytest.mark.integration
@pytest.mark.parametrize(
    ("origin", "allowed"), [(CRM_ORIGIN, True), ("https://evil.example", False)]
)
def test_cors_answers_only_the_configured_origins(server, origin: str, allowed: bool) -> None:
    url, key, _ = server
    preflight = httpx.options(
        f"{url}/score", timeout=5,
        headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert (preflight.status_code == 200) is allowed
    call = httpx.post(
        f"{url}/score", json={"customer_ids": ["c1"]}, timeout=10,
        headers={**_auth(key), "Origin": origin},
    )  # fmt: skip
    assert (call.headers.get("access-control-allow-origin") == origin) is allowed


@pytest.mark.integration
def test_probes_are_open_and_readiness_tells_the_truth(server) -> None:
    url, _, _ = server
    assert httpx.get(f"{url}/livez", timeout=5).status_code == 200
    ready = httpx.get(f"{url}/readyz", timeout=5)  # scores, but no champion
    assert ready.status_code == 503 and ready.json()["code"] == "not_ready"
    assert int(ready.headers["retry-after"]) >= 1


@pytest.mark.integration
@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"customer_ids": "c1"}, {}, 400),
        ({"customer_ids": ["x" * 500]}, {}, 400),
        ({"customer_ids": []}, {}, 400),
        (None, {"content-type": "text/plain"}, 415),
        (None, {"content-type": "multipart/form-data; boundary=x"}, 415),
    ],
)
def test_hostile_input_is_4xx_with_the_spec_shape(server, body, headers, status) -> None:
    url, key, _ = server
    reply = httpx.post(
        f"{url}/score", json=body, content=None if body is not None else b"customer_ids=c1",
        headers={**_auth(key), **headers}, timeout=10,
    )  # fmt: skip
    assert reply.status_code == status, reply.text
    shape = reply.json()
    assert isinstance(shape["error"], str) and isinstance(shape.get("detail", ""), str)


@pytest.mark.integration
def test_client_errors_are_one_info_line_without_a_traceback(server) -> None:
    url, key, home = server
    secret = "c-never-logged-0000"
    reply = httpx.post(
        f"{url}/score", json={"customer_ids": [secret, 7]}, headers=_auth(key), timeout=10
    )
    assert reply.status_code == 400 and reply.json()["code"] == "invalid_request"
    time.sleep(0.3)
    log = (home / "server.log").read_text()
    assert "client error on /v1/score [POST]: 1 validation error(s): customer_ids.1" in log
    assert "Traceback" not in log and secret not in log  # the rejected body is not logged


@pytest.mark.integration
def test_a_body_over_the_limit_is_413(server) -> None:
    url, key, _ = server
    big = b'{"customer_ids": ["' + b"a" * 3_000_000 + b'"]}'
    reply = httpx.post(
        f"{url}/score",
        content=big,
        headers={**_auth(key), "content-type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 413


@pytest.mark.integration
def test_a_history_without_a_champion_is_a_503_saying_so(server) -> None:
    url, key, _ = server
    history = {
        "as_of": "2025-06-01",
        "customer_id": "c9",
        "orders": [{"order_id": "o1", "ordered_at": "2025-05-01", "amount": 10}],
    }
    reply = httpx.post(f"{url}/v1/score/history", json=history, headers=_auth(key), timeout=30)
    assert reply.status_code == 503 and reply.json()["code"] == "no_champion"
    assert int(reply.headers["retry-after"]) >= 1


def test_the_bento_requirements_follow_the_lock() -> None:
    """`bentoml build` packages serving/requirements.txt: it must be uv.lock's (make bento)."""
    from tests.pipelines.cli.fresh_venv import ROOT, uv_command

    exported = subprocess.run(
        [*uv_command(), "export", "--frozen", "--no-hashes", "--no-dev", "--no-emit-project"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    pins = {line for line in exported.splitlines() if line and not line.lstrip().startswith("#")}
    kept = set((ROOT / "serving" / "requirements.txt").read_text().splitlines()) - {""}
    assert kept == pins, "run `make bento` (or its export line) after changing dependencies"


def test_a_lookup_file_without_its_run_table_still_answers(tmp_path: Path) -> None:
    """Files published before the run table existed (an upgrade) are read all the same."""
    import duckdb

    home = _publish(tmp_path)
    path = home.current_lookup()
    assert path is not None
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE lookup_run")
    con.close()
    assert ScoreStore(home).lookup(["c1"]).model_version == "7"


def test_serve_runs_the_configured_workers_in_their_own_bentoml_home() -> None:
    env = serve_env({}, "/srv/retain", 3000, insecure=False, workers=4)
    assert env["BENTOML_CONFIG_OPTIONS"] == "services.retain.workers=4"
    assert env["BENTOML_HOME"] == "/srv/retain/bentoml/3000" and env["RETAIN_INSECURE_LOCAL"] == "0"


@pytest.mark.integration
def test_a_key_over_its_rate_gets_429_with_retry_after(server) -> None:
    """10 requests per second: the 11th within a second is refused; other keys are not."""
    url, key, home = server
    limited = KeyRing(home / "api_keys.json").add(LIMITED, pd.Timestamp("2026-12-01"))
    with httpx.Client(timeout=10) as client:
        started = time.monotonic()
        statuses = [
            client.post(f"{url}/v1/score", json={"customer_ids": ["c1"]}, headers=_auth(limited))
            for _ in range(11)
        ]
        elapsed = time.monotonic() - started
        other = client.post(f"{url}/v1/score", json={"customer_ids": ["c1"]}, headers=_auth(key))
    assert elapsed < 1, "the 11 requests took over a second: nothing to check"
    assert [s.status_code for s in statuses] == [200] * 10 + [429]
    refused = statuses[-1]
    assert refused.json()["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
    assert other.status_code == 200


@pytest.mark.integration
def test_the_access_log_names_the_key_never_the_key_or_the_body(server) -> None:
    url, key, home = server
    marker = "c-body-marker-4242"
    sent = []
    with httpx.Client(timeout=10) as client:
        for i, (route, headers) in enumerate(
            [("/v1/score", _auth(key)), ("/score", _auth(key)), ("/v1/score", {}),
             ("/v1/score", _auth("wrong-key"))]
        ):  # fmt: skip
            reply = client.post(
                f"{url}{route}", json={"customer_ids": [marker]},
                headers={**headers, "X-Request-ID": f"audit-{i}"},
            )  # fmt: skip
            assert reply.headers["x-request-id"] == f"audit-{i}"  # echoed
            sent.append((f"audit-{i}", reply.status_code))
        made = client.get(f"{url}/livez").headers["x-request-id"]  # generated when absent
        _sign_in(client, url, key)
        page = client.get(f"{url}/ui/", headers={"X-Request-ID": "audit-page"}, timeout=120)
        sent.append(("audit-page", page.status_code))
    assert len(made) == 32
    time.sleep(0.3)
    log = (home / "server.log").read_text()
    lines = {rid: [x for x in log.splitlines() if f"request_id={rid}" in x] for rid, _ in sent}
    names = ("crm-app", "crm-app", "-", "-", "crm-app")  # a page names its session's key
    routes = ["/v1/score"] * 4 + ["/ui/"]
    for (rid, status), name, route in zip(sent, names, routes, strict=True):
        assert len(lines[rid]) == 1, lines[rid]  # one line per request
        assert f"key={name} " in lines[rid][0] and f"route={route} " in lines[rid][0]
        assert f"status={status} " in lines[rid][0] and "latency_ms=" in lines[rid][0]
    assert marker not in log and key not in log and "wrong-key" not in log


def _sign_in(client: httpx.Client, url: str, key: str) -> None:
    """The pages' sign-in as a browser does it: the form's CSRF token, then the key."""
    form = client.get(f"{url}/ui/sign-in", timeout=120).text  # the pages load on first use
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    signed = client.post(f"{url}/ui/sign-in", data={"csrf": token.group(1), "key": key})
    assert signed.status_code == 303, signed.text[:300]


def test_a_rotated_key_stays_valid_for_its_grace_period(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys.json")
    old = ring.add("crm", pd.Timestamp("2026-12-01T00:00:00+00:00"))
    new = ring.add("crm", pd.Timestamp("2026-12-02T00:00:00+00:00"), pd.Timedelta(hours=24))
    before_end = pd.Timestamp("2026-12-02T23:59:00+00:00").timestamp()
    after_end = pd.Timestamp("2026-12-03T00:01:00+00:00").timestamp()
    assert ring.name_of(old, before_end) == "crm" and ring.name_of(new, before_end) == "crm"
    assert ring.name_of(old, after_end) is None and ring.name_of(new, after_end) == "crm"
    assert [(n, until) for n, _, until in ring.listing()] == [
        ("crm", None),
        ("crm", "2026-12-03T00:00:00+00:00"),
    ]
    ring.add("crm", pd.Timestamp("2026-12-02T01:00:00+00:00"))  # without a grace: at once
    assert ring.name_of(new, before_end) is None


def test_the_request_window_refuses_the_eleventh_within_a_second() -> None:
    from serving.quota import RequestWindow

    window = RequestWindow(10)
    assert [window.admit(0.05 * i) for i in range(10)] == [0.0] * 10
    assert window.admit(0.6) == pytest.approx(0.4)  # until the first leaves the window
    assert window.admit(1.0) == 0.0  # the first is a second old
    assert window.admit(1.01) > 0


def test_the_contract_is_openapi_31_with_retains_name_and_version() -> None:
    """Built in process: nullable answers declared so, errors with a code, 503 and 429 with
    Retry-After on both routes, and the package's version."""
    from importlib.metadata import version

    from serving.contract import openapi_spec
    from serving.service import RetainService

    spec = openapi_spec(RetainService)
    assert spec["openapi"] == "3.1.0" and spec["info"]["version"] == version("retain")
    assert spec["info"]["title"] == "retain" and "BentoML" not in spec["info"]["description"]
    answer = spec["components"]["schemas"]["ScoreResponse"]["properties"]["model_version"]
    assert {"type": "null"} in answer["anyOf"]
    assert "code" in spec["components"]["schemas"]["Error"]["required"]
    for route in ("/v1/score", "/v1/score/history"):
        answers = spec["paths"][route]["post"]["responses"]
        assert {"200", "400", "401", "413", "415", "429", "503"} <= set(answers)
        assert (
            "Retry-After" in answers["503"]["headers"]
            and "Retry-After" in answers["429"]["headers"]
        )


def test_the_live_audience_route_is_in_the_contract_and_answers_as_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET /v1/audiences/{list_id}.csv: in the spec with its answers; an unknown or malformed
    id is a 404 and any other method a 405 (with Allow), both JSON errors with a code."""
    from starlette.testclient import TestClient

    from serving.contract import openapi_spec
    from serving.guard import ERROR_SCHEMA, RequestGuard
    from serving.service import RetainService
    from serving.ui.mount import PagesMount

    spec = openapi_spec(RetainService)
    operation = spec["paths"]["/v1/audiences/{list_id}.csv"]["get"]
    assert {"200", "401", "404", "405", "409", "429"} <= set(operation["responses"])
    assert "text/csv" in operation["responses"]["200"]["content"]
    (parameter,) = operation["parameters"]
    assert parameter["in"] == "path" and parameter["schema"]["pattern"].startswith("^[A-Za-z0-9]")
    monkeypatch.setenv("RETAIN_HOME", str(tmp_path))

    async def api(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the audience route never reaches the API")

    client = TestClient(RequestGuard(PagesMount(api)))
    for path in ("/v1/audiences/NONE.csv", "/v1/audiences/=x.csv", "/v1/audiences/a/b.csv"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", path
        assert set(ERROR_SCHEMA["required"]) <= set(answer.json())
    posted = client.post("/v1/audiences/NONE.csv", content=b"x")
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"
    assert posted.json()["code"] == "method_not_allowed"


@pytest.mark.integration
def test_metrics_show_the_champion_the_scores_age_and_lookups(server) -> None:
    url, key, _ = server
    reply = httpx.post(
        f"{url}/v1/score", json={"customer_ids": ["c1", "c2", "nobody"]}, headers=_auth(key),
        timeout=10,
    )  # fmt: skip
    assert reply.status_code == 200
    text = httpx.get(f"{url}/metrics", timeout=10).text
    values = {
        line.split()[0]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("retain_") and not line.startswith("#")
    }
    assert values['retain_lookups_total{result="hit"}'] >= 2
    assert values['retain_lookups_total{result="miss"}'] >= 1
    assert values["retain_champion_version"] == 0  # no champion in this home
    scored_at = AS_OF.tz_localize("UTC").timestamp()
    assert values["retain_scores_scored_at_seconds"] == scored_at
    assert values["retain_scores_age_seconds"] >= time.time() - scored_at - 60


def test_keys_rotate_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli_helpers import run_main

    monkeypatch.setenv("RETAIN_HOME", str(tmp_path))
    monkeypatch.setenv("RETAIN_KEY_ROTATION_GRACE_HOURS", "2")
    code, out = run_main(monkeypatch, capsys, "keys", "add", "crm", "--rotate")
    assert code == 2 and "no key named 'crm' to rotate" in out
    assert run_main(monkeypatch, capsys, "keys", "add", "crm")[0] == 0
    code, out = run_main(monkeypatch, capsys, "keys", "add", "crm", "--rotate")
    new_key = out.strip().splitlines()[-1]
    assert code == 0 and KeyRing(tmp_path / "api_keys.json").name_of(new_key) == "crm"
    code, out = run_main(monkeypatch, capsys, "keys", "list")
    assert code == 0 and out.count("  crm  created") == 2 and "rotated out: valid until" in out
    assert new_key not in out
