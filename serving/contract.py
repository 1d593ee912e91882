"""The API's contract, exact: OpenAPI 3.1 built from the same pydantic models that validate
the requests and shape the answers, every error a JSON body with a machine-readable `code`,
and "not yet" (no scores, no champion, not ready) a 503 with Retry-After.

BentoML's own spec (3.0.2) declares optional fields as plain strings and lists errors the
service never gives; the one served at /docs.json is rebuilt here once per worker.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.responses import JSONResponse

from serving.auth import ASGIApp, Message, Receive, Scope, Send, json_response
from serving.guard import ERROR_SCHEMA, truthful_spec

RETRY_AFTER_SECONDS = 60  # the champion is re-checked every minute, the scores at each request
READY_RETRY_SECONDS = 5
DESCRIPTION = (
    "Churn risk, next-order timing, value and reasons per customer: `POST /v1/score` looks up "
    "the latest batch run (`retain score`), `POST /v1/score/history` scores a posted history "
    "with the champion model like the batch would. Send `Authorization: Bearer <key>` "
    "(`retain keys add NAME`). Errors are JSON `{error, code, detail}`; 503 with `Retry-After` "
    "means not yet (no scores or no champion), 429 with `Retry-After` a key over its rate. "
    "`/score` and `/score/history` are aliases of the `/v1/` routes."
)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
API_ERRORS = {
    "400": ("the body does not follow the schema (field named in detail)", False),
    "429": ("the key is over its rate limit (rate_limited)", True),
    "503": ("not yet: no scores published (no_scores) or no champion model (no_champion)", True),
}


def package_version() -> str:
    try:
        return version("retain")
    except PackageNotFoundError:  # a bento runs from its sources, not an installed package
        return "0+unknown"


def problem(status: int, code: str, error: str, detail: str, retry_after: int) -> Any:
    """A JSON error answer the API methods return as is (typed Any: BentoML passes a
    Response through, and its route keeps the model of its success answer in the spec)."""
    return JSONResponse(
        {"error": error, "code": code, "detail": detail},
        status_code=status,
        headers={"Retry-After": str(retry_after)},
    )


def _error(why: str, retry: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": why,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry:
        answer["headers"] = copy.deepcopy(RETRY_AFTER)
    return answer


def _model(model: Any, name: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """`model`'s own JSON schema (nullable fields as anyOf null) under `name` in components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[name] = schema | {"title": name}
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_spec(service: Any) -> dict[str, Any]:
    """The whole contract of `service` (a BentoML service class) as OpenAPI 3.1."""
    spec = truthful_spec(json.loads(json.dumps(service.openapi_spec.asdict())))
    spec["openapi"] = "3.1.0"
    spec["info"] = {"title": "retain", "version": package_version(), "description": DESCRIPTION}
    schemas = spec["components"]["schemas"] = {"Error": ERROR_SCHEMA}
    for name, api in service.apis.items():
        operation = spec["paths"][api.route]["post"]
        operation["requestBody"]["required"] = True
        body = operation["requestBody"]["content"]["application/json"]
        body["schema"] = _model(api.input_spec, f"{name}_request", schemas)
        answers = operation["responses"]
        ok = answers["200"]["content"]["application/json"]
        ok["schema"] = _model(api.output_spec, "ScoreResponse", schemas)
        answers.pop("404", None), answers.pop("500", None)  # never given by these routes
        answers.update({status: _error(*why) for status, why in API_ERRORS.items()})
        answers["400"] = _error(API_ERRORS["400"][0], False)
    spec["paths"]["/readyz"]["get"]["responses"]["503"] = _error(
        "not ready: no scores published or the champion not loaded (not_ready)", True
    )
    spec["paths"][AUDIENCE_ROUTE] = {"get": _audience_operation()}
    return spec


AUDIENCE_ROUTE = "/v1/audiences/{list_id}.csv"


def _audience_operation() -> dict[str, Any]:
    """GET of a live audience (serving.ui.live): a saved list as the newest scores make it."""
    from pipelines.marketing.lists import LIST_ID  # built once per worker: loaded then

    return {
        "summary": "A saved audience as the newest scores make it",
        "description": "The CSV `retain risk-list` (or `due-list`) writes today for the filters "
        "saved with the list at /ui/ (Save list): the same list id, so the same control-group "
        "rule. Poll it from an email or CRM tool; each fetch is shown as the audience's last "
        "refresh on /ui/campaigns.",
        "operationId": "audience_csv",
        "parameters": [
            {
                "name": "list_id",
                "in": "path",
                "required": True,
                "description": "The id the list was saved under: letters, digits, '.', '_' or "
                "'-', starting with a letter or digit, at most 80 characters.",
                "schema": {"type": "string", "pattern": f"^{LIST_ID.pattern}$"},
            }
        ],
        "responses": {
            "200": {
                "description": "The list, one row per customer (columns as in the README).",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            "401": _error("missing, wrong or revoked API key (unauthorized)", False),
            "404": _error("no audience saved under this list id (not_found)", False),
            "405": _error("only GET is allowed (method_not_allowed)", False),
            "409": _error(
                "the saved filters no longer fit the newest scores (stale_filters)", False
            ),
            "429": _error(API_ERRORS["429"][0], True),
        },
    }


class Contract:
    """Serves the contract at /docs.json and turns /readyz's plain 503 into a JSON one."""

    def __init__(self, app: ASGIApp, spec: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.spec = functools.cache(spec)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path == "/docs.json":
            payload = json.dumps(self.spec()).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": payload})
            return
        if path != "/readyz":
            await self.app(scope, receive, send)
            return
        refused = False

        async def as_json(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 503:
                refused = True
                detail = "no scores published (`retain score`) or the champion not loaded yet"
                await json_response(
                    send, 503, {"error": "not ready", "code": "not_ready", "detail": detail},
                    headers=((b"retry-after", str(READY_RETRY_SECONDS).encode()),),
                )  # fmt: skip
            elif not refused:
                await send(message)

        await self.app(scope, receive, as_json)
