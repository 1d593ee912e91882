"""Real servers in tests: a free loopback port, and a process started in its own session,
waited for until a probe URL answers, and killed with its children afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], probe: str, log: Path, cwd: Path | None = None
) -> Iterator[None]:
    """`command` running until the block ends; fails the test if `probe` never answers 200."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=cwd,
        )  # fmt: skip
        try:
            for _ in range(240):
                if proc.poll() is not None:
                    pytest.fail(f"{command[0]} exited: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(probe, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.25)
            else:
                pytest.fail(f"{probe} did not answer")
            yield
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
