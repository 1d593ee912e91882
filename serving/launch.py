"""How the service is started, shared by `retain serve` and the integration tests, and how
its workers die with it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
import time

from serving.auth import INSECURE_ENV

SERVICE = "serving.service:RetainService"


def serve_command(host: str, port: int) -> list[str]:
    """`bentoml serve` for the scoring service, with this interpreter's environment."""
    return [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port)]


def serve_env(
    base: dict[str, str], home: str, port: int, insecure: bool, workers: int
) -> dict[str, str]:
    """The service's environment: its home, keys on or off, a BentoML home of its own per port
    (two servers never share /metrics files) and the number of workers."""
    return {
        **base,
        "RETAIN_HOME": home,
        INSECURE_ENV: "1" if insecure else "0",
        "BENTOML_HOME": f"{home}/bentoml/{port}",
        "BENTOML_CONFIG_OPTIONS": f"services.retain.workers={workers}",
    }


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_CHECK_SECONDS = 1.0


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on host:port (binding as the server does, SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def die_with_parent() -> None:
    """Exit when the process that started this one dies, even by SIGKILL: the kernel sends
    SIGKILL (Linux prctl), and a thread watching the parent id covers other systems and the
    moment before prctl took effect."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
