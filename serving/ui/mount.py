"""/ui/... to the marketing pages, everything else to the API: an ASGI middleware that loads
the pages (and the list, campaign and model code behind them) at the first page request, in
a worker thread, so the scoring API neither waits for them at start nor stalls on them."""

from __future__ import annotations

import threading
from typing import Any

import anyio

from serving.auth import PAGES_PREFIX, is_page


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
        if scope["type"] == "http" and is_page(scope["path"]):
            scope = {**scope, "root_path": scope.get("root_path", "") + PAGES_PREFIX}
            pages = self._pages or await anyio.to_thread.run_sync(self.pages)
            await pages(scope, receive, send)
            return
        await self.app(scope, receive, send)
