"""Marketing pages at /ui, mounted into the scoring service: sign in with an API key, build an
audience from the latest scores, download it exactly as `retain risk-list` writes it.

Server-rendered (Starlette and Jinja2, no script, nothing fetched from elsewhere). Every page
but the sign-in page needs a session; forms that change state carry a CSRF token.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pipelines.errors import InputError
from pipelines.marketing.lists import SORT_KEYS, Selection
from pipelines.settings import Settings, load_settings
from serving.auth import INSECURE_ENV, PAGES_PREFIX, KeyRing, is_page
from serving.ui.audience import HISTOGRAM_BINS, build, download
from serving.ui.session import CSRF_COOKIE, SESSION_COOKIE, Sessions, new_token

PREFIX = PAGES_PREFIX
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
DOWNLOADS = {"csv": ("text/csv", ".csv"), "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")}  # fmt: skip


class Pages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = KeyRing(settings.keys_path.resolve())
        self.sessions = Sessions(settings.home.resolve() / "ui_secret")
        self.open = os.environ.get(INSECURE_ENV) == "1"

    def signed_in(self, request: Request) -> str | None:
        if self.open:
            return "local"
        name = self.sessions.key_name(request.cookies.get(SESSION_COOKIE))
        return name if name is not None and name in self.keys.names() else None

    async def sign_in_form(self, request: Request) -> Response:
        return self._sign_in_page(request, "", 200)

    def _sign_in_page(self, request: Request, error: str, status: int) -> Response:
        token = new_token()
        page = TEMPLATES.TemplateResponse(
            request, "sign_in.html", {"csrf": token, "error": error, "prefix": PREFIX}, status
        )
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
        response.set_cookie(SESSION_COOKIE, self.sessions.issue(name), httponly=True,
                            samesite="lax", path=PREFIX, secure=request.url.scheme == "https")  # fmt: skip
        return response

    async def sign_out(self, request: Request) -> Response:
        form = await request.form()
        session = request.cookies.get(SESSION_COOKIE, "")
        if not self.sessions.csrf_ok(session, str(form.get("csrf", ""))):
            return Response("CSRF token missing or wrong", status_code=400)
        response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    async def audience(self, request: Request) -> Response:
        who = self.signed_in(request)
        if who is None:
            return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        context: dict[str, Any] = {"who": who, "prefix": PREFIX, "form": _form(request),
                                   "sorts": SORT_KEYS, "bins": HISTOGRAM_BINS,
                                   "risk_tiers": ("high", "medium", "low"),
                                   "value_tiers": tuple(self.settings.value_tiers),
                                   "csrf": self.sessions.csrf_for(request.cookies.get(SESSION_COOKIE, "")),
                                   "query": request.url.query}  # fmt: skip
        try:
            settings, selection, list_id = _selection(request, self.settings)
            context["audience"] = build(settings, selection, list_id)
        except (InputError, ValueError) as problem:
            context["error"] = str(problem)
            return TEMPLATES.TemplateResponse(request, "audience.html", context, 400)
        return TEMPLATES.TemplateResponse(request, "audience.html", context)

    async def download(self, request: Request) -> Response:
        if self.signed_in(request) is None:
            return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
        if request.path_params["fmt"] not in DOWNLOADS:
            return Response("download as audience.csv or audience.xlsx", status_code=404)
        media, suffix = DOWNLOADS[request.path_params["fmt"]]
        try:
            settings, selection, list_id = _selection(request, self.settings)
            body = download(settings, selection, list_id, suffix)
        except (InputError, ValueError) as problem:
            return Response(str(problem), status_code=400, media_type="text/plain")
        name = f"risk_list{suffix}"
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _form(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "risk_tier": q.getlist("risk_tier"),
        "value_tier": q.getlist("value_tier"),
        **{
            k: q.get(k, "")
            for k in ("min_probability", "budget", "top", "list_id", "control_share")
        },
        "sort": q.get("sort", "value_at_risk"),
    }


def _number(text: str, name: str, kind: type) -> Any:
    if text == "":
        return None
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{name}: expected a number, got {text!r}") from None


def _selection(request: Request, settings: Settings) -> tuple[Settings, Selection, str | None]:
    """The query string as the command line's options: the same Selection, the same list id."""
    f = _form(request)
    share = _number(f["control_share"], "control share", float)
    if share is not None and not 0 <= share < 1:
        raise ValueError("control share: expected a share from 0 up to (not including) 1")
    if f["sort"] not in SORT_KEYS:
        raise ValueError(f"sort: expected one of {', '.join(SORT_KEYS)}")
    chosen = settings if share is None else settings.model_copy(update={"control_share": share})
    selection = Selection(
        top=_number(f["top"], "top", int), budget=_number(f["budget"], "budget", int),
        min_probability=_number(f["min_probability"], "minimum probability", float) or 0.0,
        risk_tiers=f["risk_tier"], value_tiers=f["value_tier"], sort=f["sort"],
    )  # fmt: skip
    return chosen, selection, f["list_id"] or None


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
            Route("/", pages.audience, methods=["GET"]),
            Route("/audience.{fmt:str}", pages.download, methods=["GET"]),
            Mount(
                "/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"
            ),
        ],
        middleware=[Middleware(Headers)],
    )


class PagesMount:
    """ASGI middleware that hands /ui/... to the pages and everything else to the API. (A
    BentoML `asgi_app` mount keeps the service instance from being created in 1.4.)"""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pages = make_app()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_page(scope["path"]):
            scope = {**scope, "root_path": scope.get("root_path", "") + PREFIX}
            await self.pages(scope, receive, send)
            return
        await self.app(scope, receive, send)
