"""API keys: salted hashes on disk, checked in constant time by an ASGI middleware.

`retain keys add NAME` prints a new key once and stores only `sha256(salt + key)` in
`RETAIN_HOME/api_keys.json`; `revoke NAME` removes it. The service re-reads the file when it
changes, so a revoked key stops working without a restart. Every route but the probes and
`/metrics` needs `Authorization: Bearer <key>`; a missing or wrong key gets 401 with a JSON
error and is counted; the key's name, never the key, goes to the access log.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics")
INSECURE_ENV = "RETAIN_INSECURE_LOCAL"  # `retain serve --insecure-local`: keys off, 127.0.0.1
PAGES_PREFIX = "/ui"  # the marketing pages sign in with the same keys, into a session cookie
KEY_BYTES = 32
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
log = logging.getLogger("retain.access")


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
        self._entries: dict[str, dict[str, str]] = {}

    def _read(self) -> dict[str, dict[str, str]]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _write(self, entries: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(json.dumps(entries, indent=2))
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)

    def add(self, name: str, now: pd.Timestamp) -> str:
        """A new key for `name` (replacing any earlier one); returns the key, shown once."""
        key = secrets.token_urlsafe(KEY_BYTES)
        salt = secrets.token_hex(16)
        entries = self._read()
        entries[name] = {"salt": salt, "hash": _digest(salt, key), "created_at": now.isoformat()}
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

    def has(self, name: str) -> bool:
        """Whether a key of this name is configured (not revoked), from the cached file."""
        self._refresh()
        return name in self._entries

    def name_of(self, key: str) -> str | None:
        """The name of a valid key, comparing every stored hash in constant time."""
        self._refresh()
        found = None
        for name, entry in self._entries.items():
            if secrets.compare_digest(_digest(entry["salt"], key), entry["hash"]):
                found = name
        return found

    def _refresh(self) -> None:
        mtime = self.path.stat().st_mtime if self.path.exists() else None
        if mtime != self._mtime:
            with self._lock:
                self._entries, self._mtime = self._read(), mtime


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
        name = self.keys.name_of(key.strip()) if scheme.lower() == "bearer" and key else None
        if name is None:
            refused_counter().inc()
            log.info("401 %s %s (no valid key)", scope.get("method"), scope["path"])
            detail = "missing or invalid API key: send Authorization: Bearer <key>"
            await json_response(send, 401, {"error": "unauthorized", "detail": detail}, bearer=True)
            return
        scope.setdefault("state", {})["api_key_name"] = name
        log.info("%s %s key=%s", scope.get("method"), scope["path"], name)
        await self.app(scope, receive, send)


async def json_response(
    send: Send, status: int, body: dict[str, str], bearer: bool = False
) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if bearer:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
