"""Per-key rate limits: at most N requests in any one second per key name, 429 with
Retry-After (the seconds until the oldest of them leaves the window) beyond that.

A sliding window of the last N request times per key: exact ("the 11th request within a
second is refused" at 10 per second), unlike a token bucket refilling while the burst runs.
The windows live in the worker process: with W workers a key may get up to W times its rate
(one worker by default). Off (0) unless configured.
"""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass, field

from serving.auth import ASGIApp, Receive, Scope, Send, json_response

WINDOW_SECONDS = 1.0


@dataclass
class RequestWindow:
    """The times (seconds) of the last `limit` requests let through."""

    limit: int
    times: collections.deque[float] = field(default_factory=collections.deque)

    def admit(self, now: float) -> float:
        """Let a request at `now` through (0.0), or the seconds until one may pass."""
        while self.times and self.times[0] <= now - WINDOW_SECONDS:
            self.times.popleft()
        if len(self.times) < self.limit:
            self.times.append(now)
            return 0.0
        return self.times[0] + WINDOW_SECONDS - now


class RateLimit:
    """429 for a key over its rate (`per_key` by name, else `default_per_second`; 0 = none)."""

    def __init__(
        self, app: ASGIApp, default_per_second: int = 0, per_key: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_per_second = default_per_second
        self.per_key = per_key or {}
        self.windows: dict[str, RequestWindow] = {}

    def wait_seconds(self, name: str, now: float) -> float:
        limit = self.per_key.get(name, self.default_per_second)
        if limit <= 0:
            return 0.0
        window = self.windows.get(name)
        if window is None or window.limit != limit:
            window = self.windows[name] = RequestWindow(limit)
        return window.admit(now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = (scope.get("state") or {}).get("api_key_name") if scope["type"] == "http" else None
        wait = self.wait_seconds(name, time.monotonic()) if name else 0.0
        if wait > 0:
            retry = max(1, math.ceil(wait))
            detail = f"key '{name}' is over its rate limit; retry after {retry} s"
            await json_response(
                send, 429, {"error": "too many requests", "detail": detail},
                headers=((b"retry-after", str(retry).encode()),),
            )  # fmt: skip
            return
        await self.app(scope, receive, send)
