"""The audit trail and the versioned paths: one `retain.access` line per request, and
`/score`, `/score/history` kept as aliases of `/v1/score`, `/v1/score/history`.

The line names the key (its name, never the key), the route, the status, the latency and the
request id; never a body or a header's value. `X-Request-ID` is echoed on every answer: the
caller's when it is a plain token, otherwise (or when absent) one made here.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from serving.auth import ASGIApp, Message, Receive, Scope, Send

VERSION = "/v1"
ALIASES = {"/score": f"{VERSION}/score", "/score/history": f"{VERSION}/score/history"}
REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")  # nothing that could forge a log line
log = logging.getLogger("retain.access")


def request_id(given: bytes | None) -> bytes:
    """The caller's request id when it is a plain token of at most 128 characters, else a new one."""
    if given is not None and REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex.encode()


class AccessLog:
    """Outermost: maps the aliases, tags the answer with its request id and logs one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        route = ALIASES.get(path, path)
        if route != path:
            scope = {**scope, "path": route, "raw_path": route.encode()}
        state = scope.setdefault("state", {})  # the key's name is put here by ApiKeyMiddleware
        rid = request_id(dict(scope.get("headers") or []).get(REQUEST_ID_HEADER))
        started = time.perf_counter()
        status = 500  # no answer started: the server failed

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*kept, (REQUEST_ID_HEADER, rid)]}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            log.info(
                "key=%s method=%s route=%s status=%d latency_ms=%.2f request_id=%s",
                state.get("api_key_name") or "-", scope.get("method"), route, status,
                (time.perf_counter() - started) * 1000, rid.decode(),
            )  # fmt: skip
