"""Marketing pages at /ui, served by the scoring service: sign in with an API key; build an
audience (risk or due soon) from the latest scores and download it exactly as the command
line writes it; look a customer up; see the champion model.

Server-rendered (Starlette and Jinja2; htmx, vendored, swaps the results as filters change;
nothing fetched from elsewhere). Every page but sign-in needs a session; forms that change
state carry a CSRF token.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from models import verdict as verdicts
from models.explain import direction_of, split_reasons
from models.scorer import RISK_TIERS
from pipelines.errors import InputError
from pipelines.home import Home
from pipelines.marketing.campaign import MIN_PER_GROUP
from pipelines.marketing.lists import DECLARED_COLUMNS
from pipelines.marketing.source import declared_values
from pipelines.marketing.units import Units
from pipelines.settings import Settings, load_settings
from serving.auth import INSECURE_ENV, PAGES_PREFIX, KeyRing
from serving.store import ScoreStore
from serving.ui import audience, campaigns, customer, live, model
from serving.ui.filters import form_values, selection_from
from serving.ui.session import CSRF_COOKIE, SESSION_COOKIE, Sessions, new_token

PREFIX = PAGES_PREFIX
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["risk_tiers"] = RISK_TIERS  # the scorer's names, highest first
TEMPLATES.env.globals["split_reasons"] = split_reasons  # a cell of reasons, one by one ...
TEMPLATES.env.globals["direction_of"] = direction_of  # ... each raising or lowering the risk
TEMPLATES.env.globals["money_columns"] = customer.MONEY_EVENT_COLUMNS  # history cells in money
DOWNLOADS = {"csv": ("text/csv", ".csv"), "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")}  # fmt: skip
THRESHOLDS = {"good_lift": verdicts.GOOD_LIFT, "fair_lift": verdicts.FAIR_LIFT,
              "good_points": verdicts.GOOD_CALIBRATION_POINTS,
              "fair_points": verdicts.FAIR_CALIBRATION_POINTS}  # fmt: skip
PAGE_ERRORS = (InputError, ValueError)  # bad filters or ids: shown on the page, 400


class Pages:
    """The page handlers, over one settings object, the key ring, the sessions and the
    lookup store of the scores (the same the API reads)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyRing(Home.of(settings).keys.resolve())
        self.sessions = Sessions(Home.of(settings).resolved())
        self.store = ScoreStore(Home.of(settings).resolved())
        self.open = os.environ.get(INSECURE_ENV) == "1"
        self.units = Units(settings.currency, settings.locale)
        self._declared: tuple[int | None, dict[str, tuple[str, ...]]] | None = None
        self._categories: tuple[int | None, list[str]] | None = None

    def signed_in(self, request: Request) -> str | None:
        """The key name of the request's session; a revoked key's sessions end here. The name
        goes to the access log's line of this request (serving/access.py), as an API key's does."""
        if self.open:
            return "local"
        name = self.sessions.key_name(request.cookies.get(SESSION_COOKIE), time.time())
        if name is not None and not self.keys.has(name):
            self.sessions.end_key(name)
            return None
        if name is not None:
            request.scope.setdefault("state", {})["api_key_name"] = name
        return name

    def render(
        self, request: Request, template: str, extra: dict[str, Any], status: int = 200
    ) -> Response:
        session = request.cookies.get(SESSION_COOKIE, "")
        context = {"prefix": PREFIX, "who": self.signed_in(request), "units": self.units,
                   "csrf": self.sessions.csrf_for(session), **extra}  # fmt: skip
        return TEMPLATES.TemplateResponse(request, template, context, status)

    async def sign_in_form(self, request: Request) -> Response:
        return self._sign_in_page(request, "", 200)

    def _sign_in_page(self, request: Request, error: str, status: int) -> Response:
        token = new_token()
        page = self.render(request, "sign_in.html", {"csrf": token, "error": error}, status)
        page.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=PREFIX,
                        secure=request.url.scheme == "https")  # fmt: skip
        return page

    async def sign_in(self, request: Request) -> Response:
        form = await request.form()
        token = str(form.get("csrf", ""))
        if not token or token != request.cookies.get(CSRF_COOKIE):
            return self._sign_in_page(request, "The form expired: please sign in again.", 400)
        name = self.keys.name_of(str(form.get("key", "")).strip())
        if name is None:
            return self._sign_in_page(request, "That key is not valid.", 401)
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(SESSION_COOKIE, self.sessions.issue(name, time.time()), httponly=True,
                            samesite="lax", path=PREFIX, secure=request.url.scheme == "https")  # fmt: skip
        return response

    async def sign_out(self, request: Request) -> Response:
        form = await request.form()
        session = request.cookies.get(SESSION_COOKIE, "")
        if not self.sessions.csrf_ok(session, str(form.get("csrf", ""))):
            return Response("CSRF token missing or wrong", status_code=400)
        self.sessions.end(session)  # a replayed cookie finds no session on any worker
        response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    async def builder(self, request: Request) -> Response:
        """The audience builder: risk (/) or due soon (/due), same controls. The risk
        builder opens on high risk within the settings' budget, not on everyone."""
        due = request.url.path.rstrip("/").endswith("/due")
        q = request.query_params
        if not due and not request.url.query:
            q = QueryParams({"risk_tier": "high",
                             "budget": str(self.settings.audience_default_budget)})  # fmt: skip
        return await self._builder_page(request, q, due)

    async def _builder_page(
        self, request: Request, q: QueryParams, due: bool, error: str = ""
    ) -> Response:
        """The builder for `q`; with an error (or a bad filter), its message and 400."""
        extra: dict[str, Any] = {"due": due, "query": str(q),
                                 "value_tiers": tuple(self.settings.value_tiers),
                                 "declared": await run_in_threadpool(self.declared),
                                 "categories": await run_in_threadpool(self.categories)
                                 if due else []}  # fmt: skip
        try:
            if error:
                raise ValueError(error)
            settings, selection, list_id, extra["form"] = selection_from(q, self.settings, due)
            uplift, extra["fallback"] = await self.uplift_for(extra["form"])
            extra["audience"] = await run_in_threadpool(
                audience.build, settings, selection, list_id, uplift
            )
            if not due and extra["form"].get("rank_by") == "saved_value":
                extra["qini_asked"] = True
                extra["qini"] = await run_in_threadpool(audience.last_evaluated, self.settings)
        except PAGE_ERRORS as problem:
            extra["form"] = form_values(q, due)
            extra["error"] = str(problem)
            return self.render(request, "audience.html", extra, 400)
        return self.render(request, "audience.html", extra)

    async def uplift_for(self, form: dict[str, Any]) -> tuple[Any, str | None]:
        """The uplift champion when the form ranks by saved value (or the fallback line)."""
        return await run_in_threadpool(audience.uplift_for, self.settings, form.get("rank_by", ""))

    def declared(self) -> dict[str, tuple[str, ...]]:
        """Segments and regions the scored customers have (a filter each, when any), read
        again only when `retain score` has written new features."""
        path = Home.of(self.settings).features
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if self._declared is None or self._declared[0] != stamp:
            found = {c: declared_values(self.settings, c) for c in DECLARED_COLUMNS}
            self._declared = (stamp, {c: values for c, values in found.items() if values})
        return self._declared[1]

    def categories(self) -> list[str]:
        """The categories with curves (the due page's category filter), read again only when
        `retain score` has kept new curves."""
        path = Home.of(self.settings).category_scores
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if self._categories is None or self._categories[0] != stamp:
            self._categories = (stamp, audience.known_categories(self.settings))
        return self._categories[1]

    async def download(self, request: Request) -> Response:
        fmt, kind = request.path_params["fmt"], request.path_params["kind"]
        if fmt not in DOWNLOADS or kind not in ("audience", "due"):
            return Response(
                "download audience.csv, audience.xlsx, due.csv or due.xlsx", status_code=404
            )
        due = kind == "due"
        media, suffix = DOWNLOADS[fmt]
        try:
            settings, selection, list_id, form = selection_from(
                request.query_params, self.settings, due
            )
            uplift, _ = await self.uplift_for(form)
            body = await run_in_threadpool(
                audience.download, settings, selection, list_id, suffix, uplift
            )
        except PAGE_ERRORS as problem:
            return await self._builder_page(request, request.query_params, due, str(problem))
        name = f"{'due' if due else 'risk'}_list{suffix}"
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip

    async def save(self, request: Request) -> Response:
        """Keep a list under RETAIN_HOME/lists (the file the download gives), for campaigns."""
        form = await request.form()
        if not self.sessions.csrf_ok(
            request.cookies.get(SESSION_COOKIE, ""), str(form.get("csrf", ""))
        ):
            return Response("CSRF token missing or wrong", status_code=400)
        due = form.get("kind") == "due"
        query = QueryParams(str(form.get("query", "")))
        try:
            settings, selection, list_id, asked = selection_from(query, self.settings, due)
            uplift, _ = await self.uplift_for(asked)
            saved = await run_in_threadpool(campaigns.save, settings, selection, list_id, uplift)
            now = pd.Timestamp.now(tz="UTC").tz_localize(None)
            live.keep(self.settings, saved, str(query), due, now)  # its filters, for refreshes
        except PAGE_ERRORS as problem:
            return await self._builder_page(request, query, due, str(problem))
        return RedirectResponse(f"{PREFIX}/campaigns?list={saved}", status_code=303)

    async def campaigns(self, request: Request) -> Response:
        q = request.query_params
        extra: dict[str, Any] = {"lists": campaigns.saved(self.settings), "form": dict(q),
                                 "min_per_group": MIN_PER_GROUP,
                                 "audiences": live.definitions(self.settings)}  # fmt: skip
        if q.get("list") or q.get("since") or q.get("until"):
            try:
                extra["report"] = await run_in_threadpool(
                    campaigns.report, self.settings, q.get("list", ""), q.get("since", ""),
                    q.get("until", ""),
                )  # fmt: skip
            except PAGE_ERRORS as problem:
                extra["error"] = str(problem)
                return self.render(request, "campaigns.html", extra, 400)
        return self.render(request, "campaigns.html", extra)

    async def customer(self, request: Request) -> Response:
        wanted = request.query_params.get("id", "").strip()[:128]
        found = (
            await run_in_threadpool(customer.find, self.settings, self.store, wanted)
            if wanted
            else None
        )
        extra = {"customer_id": wanted, "customer": found, "horizon": self.settings.horizon_days,
                 "next_order_min": self.settings.next_order_min_probability}  # fmt: skip
        return self.render(request, "customer.html", extra, 200 if found else 404)

    async def model(self, request: Request) -> Response:
        overview = await run_in_threadpool(model.overview, self.settings)
        extra = {"model": overview, "columns": model.VERSION_COLUMNS, "thresholds": THRESHOLDS}
        return self.render(request, "model.html", extra)


class SignedIn:
    """Every page but sign-in (and the static files) redirects to sign-in without a session."""

    def __init__(self, app: Any, pages: Pages) -> None:
        self.app, self.pages = app, pages

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        free = path.startswith((f"{PREFIX}/sign-in", f"{PREFIX}/static/"))
        if scope["type"] == "http" and not free and self.pages.signed_in(Request(scope)) is None:
            await RedirectResponse(f"{PREFIX}/sign-in", status_code=303)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Headers:
    """Pages load nothing but their own origin's files, are never framed and never cached."""

    POLICY = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'"
    )

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [
                    (b"content-security-policy", self.POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cache-control", b"no-store"),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def make_app() -> Starlette:
    pages = Pages(load_settings())
    return Starlette(
        routes=[
            Route("/sign-in", pages.sign_in_form, methods=["GET"]),
            Route("/sign-in", pages.sign_in, methods=["POST"]),
            Route("/sign-out", pages.sign_out, methods=["POST"]),
            Route("/", pages.builder, methods=["GET"]),
            Route("/due", pages.builder, methods=["GET"]),
            Route("/{kind:str}.{fmt:str}", pages.download, methods=["GET"]),
            Route("/customer", pages.customer, methods=["GET"]),
            Route("/save", pages.save, methods=["POST"]),
            Route("/campaigns", pages.campaigns, methods=["GET"]),
            Route("/model", pages.model, methods=["GET"]),
            Mount(
                "/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"
            ),
        ],
        middleware=[Middleware(Headers), Middleware(SignedIn, pages=pages)],
    )
