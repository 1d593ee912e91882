"""Hostile input stops at the door: request bodies must be JSON and small."""

from __future__ import annotations

from serving.auth import ASGIApp, Message, Receive, Scope, Send, json_response

MAX_BODY_BYTES = 2_000_000  # a 10,000-id request is about 200 kB; a history of 5,000 orders ~1 MB


class RequestGuard:
    """415 for a body that is not JSON, 413 for one over `max_bytes` (counted as it arrives,
    so a body without Content-Length cannot slip past)."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip()
        if media != "application/json":
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
