"""Hostile input stops at the door: request bodies must be JSON and small."""

from __future__ import annotations

import json
from typing import Any

from serving.auth import (
    AUDIENCE_PATH,
    OPEN_PATHS,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    is_page,
    json_response,
)

FORM = "application/x-www-form-urlencoded"  # the pages' sign-in and sign-out forms
MAX_BODY_BYTES = 2_000_000  # a 10,000-id request is about 200 kB; a history of 5,000 orders ~1 MB


class RequestGuard:
    """415 for a body that is not JSON, 413 for one over `max_bytes` (counted as it arrives,
    so a body without Content-Length cannot slip past)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope["path"] in OPEN_PATHS
            or AUDIENCE_PATH.fullmatch(scope["path"])  # a GET-only route: it answers 405
        ):
            await self.app(scope, receive, send)  # other methods and the probes: the router (405)
            return
        headers = dict(scope.get("headers") or [])
        media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip()
        allowed = {"application/json"} | ({FORM} if is_page(scope["path"]) else set())
        if media not in allowed:
            await json_response(
                send, 415, {"error": "unsupported media type", "detail": "send application/json"}
            )
            return
        if int(headers.get(b"content-length", b"0") or 0) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        body = await _read_at_most(receive, self.max_bytes)
        if body is None:
            await _too_large(send, self.max_bytes)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` (a body without Content-Length)."""
    chunks, seen, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        seen += len(chunk)
        if seen > limit:
            return None
        chunks.append(chunk)
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the buffered body to the app once, then pass through (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _too_large(send: Send, limit: int) -> None:
    await json_response(
        send, 413, {"error": "request too large", "detail": f"at most {limit:,} bytes"}
    )


class ErrorShape:
    """400 bodies as the OpenAPI spec states them, `{"error", "code", "detail"}`: BentoML's
    own validation errors carry `detail` as a list and its other errors come as a one-item
    list; both are rewritten here, so every client error has one shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_page(scope["path"]):  # pages show their own errors
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def reshaping(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:
                held.append(message)
                return
            if held and message["type"] == "http.response.body":
                held.append(message)
                if not message.get("more_body", False):
                    await _reshaped(send, b"".join(m.get("body", b"") for m in held[1:]))
                return
            await send(message)

        await self.app(scope, receive, reshaping)


async def _reshaped(send: Send, raw: bytes) -> None:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {"error": raw.decode("utf-8", "replace")}
    if isinstance(body, list):
        body = body[0] if body and isinstance(body[0], dict) else {"error": str(body)}
    detail = body.get("detail")
    if isinstance(detail, list):
        detail = "; ".join(
            f"{'.'.join(str(x) for x in d.get('loc', []))}: {d.get('msg', '')}"
            if isinstance(d, dict)
            else str(d)
            for d in detail
        )
    shaped = {"error": str(body.get("error", "bad request"))}
    if detail is not None:
        shaped["detail"] = str(detail)
    await json_response(send, 400, shaped)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for people."},
        "code": {"type": "string", "description": "What went wrong, for programs."},
        "detail": {"type": "string", "description": "Which field or state, and what to do."},
    },
}
GUARD_RESPONSES = {
    "401": "missing, wrong or revoked API key",
    "413": "request body over the size limit",
    "415": "the body is not application/json",
}


def truthful_spec(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    spec["security"] = [{"bearer": []}]
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if path in OPEN_PATHS:
                operation["security"] = []
                if path == "/readyz":
                    operation.setdefault("responses", {})["503"] = {"description": "not ready"}
                continue
            responses = operation.setdefault("responses", {})
            for status, why in GUARD_RESPONSES.items():
                if method == "post" or status == "401":
                    responses[status] = {
                        "description": why,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    }
    return spec
