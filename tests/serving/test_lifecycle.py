"""`retain serve` as a process: before any scoring run it says "not yet" (503, Retry-After,
JSON); killed with SIGKILL under load, nothing keeps answering on its port and a new one
starts there; a port already taken is one line and exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from serving.auth import KeyRing
from tests.cli_helpers import run_main
from tests.net_helpers import free_port

BIN = Path(sys.executable).parent
LOAD_CLIENTS = 4  # bounded loopback load


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/livez", timeout=1)
        return True
    except httpx.TransportError:
        return False


def _start(home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`retain serve` in a session of its own (its group is killed at the end)."""
    env = {**os.environ, "RETAIN_HOME": str(home),
           "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db"}  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(BIN / "retain"), "serve", "--port", str(port)], env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _wait_live(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    while not _answers(url):
        assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def empty_home(tmp_path: Path) -> tuple[Path, str]:
    """A home with a key and nothing else: no scores, no champion."""
    home = tmp_path / "home"
    return home, KeyRing(home / "api_keys.json").add("crm-app", pd.Timestamp("2026-12-01"))


@pytest.fixture
def served(empty_home: tuple[Path, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    home, key = empty_home
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(home, port, tmp_path / "serve.log")
    try:
        _wait_live(proc, url, tmp_path / "serve.log")
        yield {"url": url, "key": key, "proc": proc, "port": port, "home": home}
    finally:
        _stop(proc)


@pytest.mark.integration
def test_before_any_scoring_run_the_api_says_not_yet(served: dict[str, Any]) -> None:
    url, auth = served["url"], {"Authorization": f"Bearer {served['key']}"}
    history = {"as_of": "2025-06-01", "customer_id": "c1",
               "orders": [{"order_id": "o1", "ordered_at": "2025-05-01", "amount": 10.0}]}  # fmt: skip
    for route, body, code in (
        ("/v1/score", {"customer_ids": ["c1"]}, "no_scores"),
        ("/v1/score/history", history, "no_champion"),
    ):
        reply = httpx.post(f"{url}{route}", json=body, headers=auth, timeout=30)
        assert reply.status_code == 503 and int(reply.headers["retry-after"]) >= 1, reply.text
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["code"] == code and reply.json()["error"]
    ready = httpx.get(f"{url}/readyz", timeout=5)
    assert ready.status_code == 503 and ready.json()["code"] == "not_ready"
    assert int(ready.headers["retry-after"]) >= 1


@pytest.mark.integration
def test_sigkill_under_load_leaves_nothing_serving(served: dict[str, Any], tmp_path: Path) -> None:
    """SIGKILL to `retain serve`'s pid while clients call it: within 5 s nothing answers on
    the port (its workers die with it), and a new `retain serve` there becomes ready."""
    url, proc = served["url"], served["proc"]
    stop, calls = threading.Event(), [0]

    def load() -> None:
        with httpx.Client(timeout=2) as client:
            while not stop.is_set():
                try:
                    client.get(f"{url}/livez")
                    calls[0] += 1
                except httpx.TransportError:
                    time.sleep(0.05)

    clients = [threading.Thread(target=load) for _ in range(LOAD_CLIENTS)]
    for c in clients:
        c.start()
    try:
        while calls[0] < 50:  # under load
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        proc.wait()
        while _answers(url):
            assert time.monotonic() - killed_at < 5, "a worker still answers 5 s after the kill"
            time.sleep(0.1)
    finally:
        stop.set()
        for c in clients:
            c.join()
    again = _start(served["home"], served["port"], tmp_path / "again.log")
    try:
        _wait_live(again, url, tmp_path / "again.log")
    finally:
        _stop(again)


def test_a_port_in_use_is_one_line_and_exit_2(
    empty_home: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, _ = empty_home
    monkeypatch.setenv("RETAIN_HOME", str(home))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = run_main(monkeypatch, capsys, "serve", "--port", str(port))
    assert code == 2
    assert f"127.0.0.1:{port} is already in use" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1, out
