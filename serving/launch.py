"""How the service is started, shared by `retain serve` and the integration tests."""

from __future__ import annotations

import sys

SERVICE = "serving.service:RetainService"


def serve_command(host: str, port: int) -> list[str]:
    """`bentoml serve` for the scoring service, with this interpreter's environment."""
    return [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port)]
