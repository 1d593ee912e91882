"""The scoring service: lookups in process, then the BentoML server started for real."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from models.scorer import SCORE_COLUMNS
from serving.launch import serve_command
from serving.store import ScoreStore

AS_OF = pd.Timestamp("2025-06-01")


def _scores(version: str = "7") -> pd.DataFrame:
    rows = [
        (
            "c1",
            0.82,
            "high",
            20.0,
            5.0,
            60.0,
            "no order for 143 days, usual gap 30 days; 2 unresolved complaints",
        ),
        ("c2", 0.10, "low", 8.0, 2.0, 15.0, ""),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "churn_probability",
            "risk_tier",
            "expected_days_to_next_order",
            "next_order_p10_days",
            "next_order_p90_days",
            "reasons",
        ],
    )
    frame["as_of"] = AS_OF
    frame["next_order_date"] = AS_OF + pd.to_timedelta(
        frame["expected_days_to_next_order"], unit="D"
    )
    for days, share in ((7, 0.2), (14, 0.4), (30, 0.7)):
        frame[f"order_probability_{days}d"] = (1 - frame["churn_probability"]) * share
    frame["value_tier"] = ["gold", "bronze"]
    frame["expected_value"] = [100.0, 20.0]
    frame["value_at_risk"] = frame["churn_probability"] * frame["expected_value"]
    frame["model_version"] = version
    frame["scored_at"] = AS_OF
    return frame[list(SCORE_COLUMNS)]


def _home_with_scores(home: Path, version: str = "7") -> Path:
    path = home / "scores" / "latest.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    _scores(version).to_parquet(path)
    return path


def test_lookup_known_and_unknown(tmp_path: Path) -> None:
    store = ScoreStore(_home_with_scores(tmp_path))
    got = store.lookup(["c1", "zz"])
    assert got.model_version == "7" and got.as_of == "2025-06-01"
    c1, zz = got.results
    assert c1.found and c1.churn_probability == pytest.approx(0.82)
    assert c1.reasons == ["no order for 143 days, usual gap 30 days", "2 unresolved complaints"]
    assert not zz.found and "unknown customer_id" in (zz.error or "")


def test_no_scores_yet_is_a_per_item_error(tmp_path: Path) -> None:
    got = ScoreStore(tmp_path / "missing.parquet").lookup(["c1"])
    assert got.model_version is None and "retain score" in (got.results[0].error or "")


def test_new_batch_is_picked_up(tmp_path: Path) -> None:
    path = _home_with_scores(tmp_path, "7")
    store = ScoreStore(path)
    assert store.lookup(["c1"]).model_version == "7"
    _scores("8").to_parquet(path)
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert store.lookup(["c1"]).model_version == "8"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("serve-home")
    _home_with_scores(home)
    port = _free_port()
    env = {**os.environ, "RETAIN_HOME": str(home), "BENTOML_HOME": str(home / "bentoml")}
    cmd = serve_command("127.0.0.1", port)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                pytest.fail(f"server exited: {(home / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        else:
            pytest.fail("server did not become healthy")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.mark.integration
def test_score_endpoint_over_http(server: str) -> None:
    reply = httpx.post(f"{server}/score", json={"customer_ids": ["c1", "nobody"]}, timeout=10)
    assert reply.status_code == 200
    body = reply.json()
    assert body["model_version"] == "7"
    assert body["results"][0]["churn_probability"] == pytest.approx(0.82)
    assert body["results"][1] == {**body["results"][1], "found": False}
    assert "unknown customer_id" in body["results"][1]["error"]


@pytest.mark.integration
def test_bad_body_is_400_not_500(server: str) -> None:
    reply = httpx.post(f"{server}/score", json={"customer_ids": "c1"}, timeout=10)
    assert reply.status_code == 400


@pytest.mark.integration
def test_healthz(server: str) -> None:
    assert httpx.get(f"{server}/healthz", timeout=5).status_code == 200
