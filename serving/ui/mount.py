"""/ui/... to the marketing pages, everything else to the API: an ASGI middleware that loads
the pages (and the list, campaign and model code behind them) at the first page request, in
a worker thread, so the scoring API neither waits for them at start nor stalls on them.
`GET /v1/audiences/{list_id}.csv` (an API route: the key middleware has checked the key) is
a saved audience as the newest scores make it (`serving.ui.live`)."""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio

from serving.auth import AUDIENCE_PATH, PAGES_PREFIX, is_page


class PagesMount:
    """(A BentoML `asgi_app` mount keeps the service instance from being created in 1.4.)"""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._pages: Any = None
        self._lock = threading.Lock()

    def pages(self) -> Any:
        with self._lock:
            if self._pages is None:
                from serving.ui.app import make_app

                self._pages = make_app()
        return self._pages

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        found = AUDIENCE_PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if found:
            if scope.get("method") == "GET":
                status, headers, body = await anyio.to_thread.run_sync(_audience, found["list_id"])
            else:  # the route is GET only
                status, headers, body = _error(405, "method_not_allowed", "method not allowed",
                                               "a live audience is fetched with GET")  # fmt: skip
                headers.append((b"allow", b"GET"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http" and is_page(scope["path"]):
            scope = {**scope, "root_path": scope.get("root_path", "") + PAGES_PREFIX}
            pages = self._pages or await anyio.to_thread.run_sync(self.pages)
            await pages(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _audience(list_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers, body) of a live audience: its CSV, or a JSON error."""
    import pandas as pd

    from pipelines.errors import InputError
    from pipelines.marketing.lists import LIST_ID
    from pipelines.settings import load_settings
    from serving.ui.live import refreshed

    if not LIST_ID.fullmatch(list_id):  # no list is saved under such a name
        return _error(404, "not_found", "not found", f"no saved audience {list_id[:80]!r}")
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)  # the edge: when it was refreshed
    try:
        body = refreshed(load_settings(), list_id, now)
    except (InputError, ValueError) as problem:
        return _error(409, "stale_filters", "saved filters no longer fit the scores", str(problem))
    if body is None:
        return _error(
            404, "not_found", "not found", f"no saved audience {list_id!r}; save one at /ui/"
        )
    disposition = f'attachment; filename="{list_id}.csv"'.encode()
    return 200, [(b"content-type", b"text/csv; charset=utf-8"), (b"content-disposition",
                 disposition), (b"content-length", str(len(body)).encode())], body  # fmt: skip


def _error(
    status: int, code: str, error: str, detail: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A JSON error as the API's contract gives it: `error`, its `code` and `detail`."""
    body = json.dumps({"error": error, "code": code, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return status, headers, body
