"""Browser sessions for the marketing pages, kept on the server.

Signing in takes an API key (the same keys as the API). The session cookie holds only a
random session id; the server keeps its SHA-256 with the key's name and expiry in a small
SQLite file under RETAIN_HOME (`ui_sessions.sqlite`), so every worker process of
`retain serve` sees the same sessions: signing out deletes the row (a replayed cookie then
leads to sign-in), and revoking a key deletes its sessions at their next request. Forms
carry a CSRF token: before sign-in, a double-submit token (cookie and form field must
match); after, an HMAC of the session id with a secret kept beside the sessions.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pipelines.home import Home

SESSION_COOKIE = "retain_session"
CSRF_COOKIE = "retain_csrf"
SESSION_SECONDS = 8 * 3600  # a working day
SESSION_ID_BYTES = 32


class Sessions:
    """Session ids -> key names, in a SQLite file shared by the service's workers."""

    def __init__(self, home: Home) -> None:
        self.secret = _secret(home.ui_secret)
        self.path = home.sessions
        with self._db() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS sessions (id_sha256 TEXT PRIMARY KEY, "
                "key_name TEXT NOT NULL, expires_at REAL NOT NULL)"
            )

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection per use (cheap for a local file; safe in any thread), committed."""
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    def issue(self, key_name: str, now: float) -> str:
        """A new session for the key, valid for SESSION_SECONDS: the cookie's value (the id,
        which the server keeps only hashed). Expired sessions are cleared on the way."""
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?)",
                (_hashed(session_id), key_name, now + SESSION_SECONDS),
            )
        return session_id

    def key_name(self, cookie: str | None, now: float) -> str | None:
        """The key name of a live session, None for an unknown, ended or expired one."""
        if not cookie:
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT key_name FROM sessions WHERE id_sha256 = ? AND expires_at > ?",
                (_hashed(cookie), now),
            ).fetchone()
        return None if row is None else str(row[0])

    def end(self, cookie: str | None) -> None:
        """Sign-out: the session is gone for every worker."""
        if cookie:
            with self._db() as db:
                db.execute("DELETE FROM sessions WHERE id_sha256 = ?", (_hashed(cookie),))

    def end_key(self, key_name: str) -> None:
        """A revoked key: all its sessions are gone."""
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE key_name = ?", (key_name,))

    def csrf_for(self, session_cookie: str) -> str:
        return hmac.new(self.secret, f"csrf|{session_cookie}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_cookie: str, token: str) -> bool:
        """Compared as bytes: `compare_digest` refuses text that is not ASCII (a 500)."""
        given = (token or "").encode("utf-8", "surrogatepass")
        return hmac.compare_digest(self.csrf_for(session_cookie).encode(), given)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _hashed(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def _secret(path: Path) -> bytes:
    """The CSRF secret, made once (mode 600) and shared by every worker."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(secrets.token_bytes(32))
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):  # the first worker wins; others read it
            os.link(temporary, path)
        temporary.unlink()
    return path.read_bytes()
