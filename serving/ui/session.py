"""Browser sessions for the marketing pages, signed with a secret kept under RETAIN_HOME.

Signing in takes an API key (the same keys as the API); the session cookie holds the key's
name and an expiry, signed with HMAC-SHA256, never the key. A revoked key ends its sessions
at the next request. Forms carry a CSRF token: before sign-in, a double-submit token (cookie
and form field must match); after, an HMAC of the session cookie.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

SESSION_COOKIE = "retain_session"
CSRF_COOKIE = "retain_csrf"
SESSION_SECONDS = 8 * 3600  # a working day


class Sessions:
    def __init__(self, secret_path: Path) -> None:
        self.secret = _secret(secret_path)

    def _sign(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, key_name: str, now: float | None = None) -> str:
        """A cookie value naming the signed-in key, valid for SESSION_SECONDS."""
        expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
        body = f"{key_name}|{expires}"
        return f"{body}|{self._sign(body)}"

    def key_name(self, cookie: str | None, now: float | None = None) -> str | None:
        """The key name of a valid, unexpired session cookie."""
        name, _, rest = (cookie or "").partition("|")
        expires, _, signature = rest.partition("|")
        if not (name and expires.isdigit() and signature):
            return None
        if not hmac.compare_digest(self._sign(f"{name}|{expires}"), signature):
            return None
        return name if int(expires) > (now if now is not None else time.time()) else None

    def csrf_for(self, session_cookie: str) -> str:
        return self._sign(f"csrf|{session_cookie}")

    def csrf_ok(self, session_cookie: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_for(session_cookie), token or "")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _secret(path: Path) -> bytes:
    """The signing secret, made once (mode 600) and shared by every worker."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(secrets.token_bytes(32))
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):  # the first worker wins; others read it
            os.link(temporary, path)
        temporary.unlink()
    return path.read_bytes()
