"""BentoML scoring service: POST /v1/score (lookups), POST /v1/score/history (a posted
history scored fresh), with API keys, rate limits, an access log, body limits, an exact
OpenAPI contract and readiness that tells the truth.

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

from pipelines.home import Home
from pipelines.settings import load_settings
from serving import logs, metrics
from serving.access import AccessLog
from serving.auth import INSECURE_ENV, ApiKeyMiddleware
from serving.batcher import Batcher
from serving.contract import RETRY_AFTER_SECONDS, Contract, openapi_spec, problem
from serving.guard import ErrorShape, RequestGuard
from serving.launch import die_with_parent
from serving.quota import RateLimit
from serving.schemas import (
    DAY_PATTERN,
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
Day = Annotated[
    str,
    Field(
        pattern=DAY_PATTERN,
        json_schema_extra={"format": "date"},
        description="The day to score at (YYYY-MM-DD): events before it count.",
    ),
]


@bentoml.service(name="retain", traffic={"timeout": 30})
class RetainService:
    """Churn risk, next-order timing and reasons: from the latest batch run or a posted history."""

    def __init__(self) -> None:
        die_with_parent()  # a killed `retain serve` leaves no worker answering on its port
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

        self.store = ScoreStore(Home.of(self.settings).resolved())
        self.champion = Champion(self.settings)
        self.connections = Connections()
        # Histories posted together share one model pass (serving/batcher.py)
        self.histories = Batcher(self._score_histories)
        self.champion.refresh_in_background()
        metrics.report_from(self._state)

    def _score_histories(self, posted: list[tuple[Any, str, Any]]) -> list[Any]:
        """One pass over histories posted together (each with the champion it was asked of):
        serving.history.score_histories per champion version, results in order."""
        from serving.history import score_histories

        results: list[Any] = [None] * len(posted)
        for version in dict.fromkeys(champion[0] for champion, _, _ in posted):
            mine = [i for i, (champion, _, _) in enumerate(posted) if champion[0] == version]
            champion = posted[mine[0]][0]
            items = [(posted[i][1], posted[i][2]) for i in mine]
            for i, result in zip(
                mine, score_histories(self.settings, champion, items, self.connections), strict=True
            ):
                results[i] = result
        return results

    def _state(self) -> tuple[str | None, float | None]:
        """(champion version, when the served scores were computed) for /metrics."""
        loaded = self.champion.loaded
        return (None if loaded is None else loaded[0]), self.store.scored_at_seconds

    def __is_ready__(self) -> bool:
        """Ready only once scores are published and the champion is loaded."""
        self.champion.refresh_in_background()
        return self.store.ready and self.champion.loaded is not None

    @bentoml.api(route="/v1/score")
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
        unknown ids get a per-item error; 503 before the first scoring run."""
        if not self.store.ready:
            return problem(
                503, "no_scores", "no scores yet", "run `retain score`", RETRY_AFTER_SECONDS
            )
        answer = await anyio.to_thread.run_sync(self.store.lookup, customer_ids)
        found = sum(r.found for r in answer.results)
        metrics.count_lookups(found, len(answer.results) - found)
        return answer

    @bentoml.api(route="/v1/score/history")
    async def score_history(
        self,
        as_of: Day,
        customer_id: Id,
        orders: Annotated[list[OrderIn], Field(min_length=1, max_length=MAX_ORDERS_PER_HISTORY)],
        complaints: Annotated[list[ComplaintIn], Field(max_length=MAX_COMPLAINTS_PER_HISTORY)] = [],  # noqa: B006 (pydantic copies defaults)
        customer: CustomerIn | None = None,
    ) -> ScoreResponse:
        """The customer's scores at `as_of` from the history posted (the data contract's
        columns), computed like the batch with the champion version; 503 before a champion."""
        champion = await anyio.to_thread.run_sync(self.champion.get)
        if champion is None:
            return problem(
                503, "no_champion", "no champion model yet", "run `retain train`",
                RETRY_AFTER_SECONDS,
            )  # fmt: skip
        from serving.history import History, HistoryError

        history = History(customer_id, orders, complaints, customer)
        scored = await self.histories.submit((champion, as_of, history))
        if isinstance(scored, HistoryError):
            raise InvalidArgument(str(scored))
        result, set_aside = scored
        return ScoreResponse(
            model_version=champion[0],
            as_of=result.as_of,
            scored_at=result.scored_at,
            results=[result],
            set_aside=set_aside,
        )


# The first added is the outermost: the access log sees every answer (and maps the
# unversioned aliases); CORS (only when origins are configured) answers a browser's preflight,
# which carries no key; then keys, the key's rate, and the body checks.
_service: Any = RetainService
_settings = load_settings()
_service.add_asgi_middleware(AccessLog)
if _settings.cors_allowed_origins:
    _service.add_asgi_middleware(
        CORSMiddleware,
        allow_origins=_settings.cors_allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["Retry-After", "X-Request-ID"],
    )
_service.add_asgi_middleware(
    ApiKeyMiddleware,
    keys_path=str(Home.of(_settings).keys.resolve()),
    enabled=os.environ.get(INSECURE_ENV) != "1",
)
_service.add_asgi_middleware(
    RateLimit,
    default_per_second=_settings.key_rate_limit_per_second,
    per_key=_settings.key_rate_limits,
)
_service.add_asgi_middleware(RequestGuard)
_service.add_asgi_middleware(ErrorShape)
_service.add_asgi_middleware(Contract, spec=lambda: openapi_spec(RetainService))
_service.add_asgi_middleware(metrics.ScrapeHook)
_service.add_asgi_middleware(PagesMount)  # innermost: /ui/... are the marketing pages
