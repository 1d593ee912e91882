"""API keys: salted hashes on disk, checked in constant time by an ASGI middleware.

`retain keys add NAME` prints a new key once and stores only `sha256(salt + key)` in
`RETAIN_HOME/api_keys.json`; `revoke NAME` removes it; `add NAME --rotate` keeps the old key
valid for a grace period beside the new one. The service re-reads the file when it changes, so
a revoked key stops working without a restart. Every route but the probes and
`/metrics` needs `Authorization: Bearer <key>`; a missing or wrong key gets 401 with a JSON
error and is counted; the key's name, never the key, goes to the access log (serving.access).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics")
INSECURE_ENV = "RETAIN_INSECURE_LOCAL"  # `retain serve --insecure-local`: keys off, 127.0.0.1
PAGES_PREFIX = "/ui"  # the marketing pages sign in with the same keys, into a session cookie
# A live audience (serving.ui.mount): an API route, GET only; any name, so a bad one gets 404
AUDIENCE_PATH = re.compile(r"/v1/audiences/(?P<list_id>.*)\.csv", re.DOTALL)
KEY_BYTES = 32
ERROR_CODES = {  # the machine-readable `code` of each error answer, beside `error` and `detail`
    400: "invalid_request",
    401: "unauthorized",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@functools.cache
def refused_counter() -> Any:
    """Prometheus counter of 401s on BentoML's /metrics. Created on first use, inside the
    worker: BentoML sets the multi-process metrics folder only once the worker starts."""
    from prometheus_client import Counter

    return Counter("retain_unauthorized_requests", "Requests refused for a missing or bad API key")


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + key.encode()).hexdigest()


class KeyRing:
    """Named API keys as salted hashes in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._entries: dict[str, dict[str, Any]] = {}

    def _read(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(json.dumps(entries, indent=2))
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)

    def add(self, name: str, now: pd.Timestamp, keep_old_for: pd.Timedelta | None = None) -> str:
        """A new key for `name`; returns the key, shown once. An earlier key of that name is
        replaced at once, or with `keep_old_for` stays valid until `now + keep_old_for`."""
        key = secrets.token_urlsafe(KEY_BYTES)
        salt = secrets.token_hex(16)
        entries = self._read()
        entry: dict[str, Any] = {
            "salt": salt, "hash": _digest(salt, key), "created_at": now.isoformat()
        }  # fmt: skip
        old = entries.get(name)
        if old is not None and keep_old_for is not None:
            kept = {k: old[k] for k in ("salt", "hash", "created_at")}
            entry["previous"] = kept | {"valid_until": (now + keep_old_for).isoformat()}
        entries[name] = entry
        self._write(entries)
        return key

    def revoke(self, name: str) -> bool:
        entries = self._read()
        found = entries.pop(name, None) is not None
        self._write(entries)
        return found

    def names(self) -> dict[str, str]:
        """Key name -> when it was created."""
        return {name: e["created_at"] for name, e in sorted(self._read().items())}

    def listing(self) -> list[tuple[str, str, str | None]]:
        """(name, created_at, valid_until) of every key: a rotated-out key beside its successor
        (valid_until None: valid until revoked)."""
        rows: list[tuple[str, str, str | None]] = []
        for name, entry in sorted(self._read().items()):
            rows.append((name, entry["created_at"], None))
            if "previous" in entry:
                old = entry["previous"]
                rows.append((name, old["created_at"], old["valid_until"]))
        return rows

    def has(self, name: str) -> bool:
        """Whether a key of this name is configured (not revoked), from the cached file."""
        self._refresh()
        return name in self._entries

    def name_of(self, key: str, now: float | None = None) -> str | None:
        """The name of a valid key, comparing every stored hash in constant time; a rotated-out
        key counts until its `valid_until` (`now`: Unix seconds, the caller's clock)."""
        self._refresh()
        moment = time.time() if now is None else now
        found = None
        for name, entry in self._entries.items():
            for stored in (entry, entry.get("previous")):
                if stored is None:
                    continue
                valid = "valid_until" not in stored or _seconds(stored["valid_until"]) > moment
                if secrets.compare_digest(_digest(stored["salt"], key), stored["hash"]) and valid:
                    found = name
        return found

    def _refresh(self) -> None:
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        if mtime != self._mtime:
            with self._lock:
                self._entries, self._mtime = self._read(), mtime


def _seconds(moment: str) -> float:
    """Unix seconds of an ISO time written by `add` (with its offset)."""
    from datetime import datetime

    return datetime.fromisoformat(moment).timestamp()


def is_page(path: str) -> bool:
    return path == PAGES_PREFIX or path.startswith(PAGES_PREFIX + "/")


class ApiKeyMiddleware:
    """401 JSON for requests without a valid bearer key (probes and metrics stay open)."""

    def __init__(self, app: ASGIApp, keys_path: str, enabled: bool = True) -> None:
        self.app = app
        self.keys = KeyRing(Path(keys_path))
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")  # a lifespan scope has none
        if scope["type"] != "http" or not self.enabled or path in OPEN_PATHS or is_page(path):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        bearer = scheme.lower() == "bearer" and key
        name = self.keys.name_of(key.strip(), time.time()) if bearer else None
        if name is None:
            refused_counter().inc()
            detail = "missing or invalid API key: send Authorization: Bearer <key>"
            await json_response(send, 401, {"error": "unauthorized", "detail": detail}, bearer=True)
            return
        scope.setdefault("state", {})["api_key_name"] = name
        await self.app(scope, receive, send)


async def json_response(
    send: Send,
    status: int,
    body: dict[str, str],
    bearer: bool = False,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    """A JSON error answer with its machine-readable `code` (ERROR_CODES, unless given)."""
    payload = json.dumps({"code": ERROR_CODES.get(status, "error"), **body}).encode()
    sent = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    if bearer:
        sent.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": sent})
    await send({"type": "http.response.body", "body": payload})
