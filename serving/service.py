"""BentoML scoring service: POST /score (lookups), POST /score/history (a posted history
scored fresh), with API keys, body limits and readiness that tells the truth.

Run with `retain serve` (or `make serve`). Settings come from the environment (RETAIN_HOME),
read when the service starts; `retain serve --insecure-local` turns keys off and binds
127.0.0.1 only.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import anyio
import bentoml
from bentoml.exceptions import InvalidArgument
from pydantic import Field
from starlette.middleware.cors import CORSMiddleware

from pipelines.settings import load_settings
from serving import logs
from serving.auth import INSECURE_ENV, ApiKeyMiddleware
from serving.guard import ErrorShape, RequestGuard, SpecTruth
from serving.schemas import (
    MAX_COMPLAINTS_PER_HISTORY,
    MAX_ID_LENGTH,
    MAX_IDS_PER_REQUEST,
    MAX_ORDERS_PER_HISTORY,
    ComplaintIn,
    CustomerIn,
    OrderIn,
    ScoreResponse,
)
from serving.ui.mount import PagesMount

GIL_SWITCH_SECONDS = 0.001
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


@bentoml.service(name="retain", traffic={"timeout": 30})
class RetainService:
    """Churn risk, next-order timing and reasons: from the latest batch run or a posted history."""

    def __init__(self) -> None:
        logs.install()
        # A long request (10,000 ids) runs in a worker thread; every 5 ms (Python's default)
        # it hands the interpreter to the event loop, which a single-id request needs several
        # times: at 1 ms, such callers wait a fifth as long behind it.
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        self.settings = load_settings()
        # Imported here, in the worker: `bentoml serve` imports this module in its supervisor
        # too, and the data stack (pandas, DuckDB, the feature SQL) would be loaded twice.
        from serving.history import Champion, Connections
        from serving.store import ScoreStore

        self.store = ScoreStore(self.settings.lookup_pointer_path.resolve())
        self.champion = Champion(self.settings)
        self.connections = Connections()
        # Scoring a history is CPU work (DuckDB, LightGBM): more threads at once than cores
        # only contend. At concurrency 8 on 2 cores: p99 554-584 ms with 2, 647-667 with 40.
        self.histories = anyio.CapacityLimiter(len(os.sched_getaffinity(0)))
        self.champion.refresh_in_background()

    def __is_ready__(self) -> bool:
        """Ready only once scores are published and the champion is loaded."""
        self.champion.refresh_in_background()
        return self.store.ready and self.champion.loaded is not None

    @bentoml.api(route="/score")
    async def score(
        self,
        customer_ids: Annotated[
            list[Id],
            Field(
                min_length=1, max_length=MAX_IDS_PER_REQUEST, description="Customers to look up."
            ),
        ],
    ) -> ScoreResponse:
        """Scores, reasons and model version per customer from the latest scoring run;
        unknown ids get a per-item error."""
        return await anyio.to_thread.run_sync(self.store.lookup, customer_ids)

    @bentoml.api(route="/score/history")
    async def score_history(
        self,
        as_of: Annotated[str, Field(min_length=8, max_length=32, description="YYYY-MM-DD")],
        customer_id: Id,
        orders: Annotated[list[OrderIn], Field(min_length=1, max_length=MAX_ORDERS_PER_HISTORY)],
        complaints: Annotated[list[ComplaintIn], Field(max_length=MAX_COMPLAINTS_PER_HISTORY)] = [],  # noqa: B006 (pydantic copies defaults)
        customer: CustomerIn | None = None,
    ) -> ScoreResponse:
        """The customer's scores at `as_of` from the history posted (the data contract's
        columns), computed like the batch with the champion version."""
        champion = await anyio.to_thread.run_sync(self.champion.get)
        if champion is None:
            raise InvalidArgument("no champion model yet: run `retain train`")
        from serving.history import HistoryError, history_frames, score_history

        frames = history_frames(customer_id, orders, complaints, customer)
        try:
            result = await anyio.to_thread.run_sync(
                score_history, self.settings, champion, as_of, frames, customer_id,
                self.connections, limiter=self.histories,
            )  # fmt: skip
        except HistoryError as exc:
            raise InvalidArgument(str(exc)) from None
        return ScoreResponse(
            model_version=champion[0],
            as_of=result.as_of,
            scored_at=result.scored_at,
            results=[result],
        )


# The first added is the outermost. CORS (only when origins are configured) answers a
# browser's preflight, which carries no key; then keys are checked before anything else.
_service: Any = RetainService
_settings = load_settings()
if _settings.cors_allowed_origins:
    _service.add_asgi_middleware(
        CORSMiddleware,
        allow_origins=_settings.cors_allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )
_service.add_asgi_middleware(
    ApiKeyMiddleware,
    keys_path=str(_settings.keys_path.resolve()),
    enabled=os.environ.get(INSECURE_ENV) != "1",
)
_service.add_asgi_middleware(RequestGuard)
_service.add_asgi_middleware(ErrorShape)
_service.add_asgi_middleware(SpecTruth)
_service.add_asgi_middleware(PagesMount)  # innermost: /ui/... are the marketing pages
