"""How the service is started, shared by `retain serve` and the integration tests."""

from __future__ import annotations

import sys

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
