"""The OpenAPI document, made true centrally: every status a route can answer, with its body.

FastAPI documents only a route's success status and a 422 whose body is not ours. Rather than
decorate each route by hand (and forget the next one), ``install_openapi`` post-processes the
generated document from the route table:

- every operation documents 422 (``invalid_input``/``invalid_text``: any path or query may be
  refused), 500 (``internal_error``) and, when it uses the services, 503 (``database_error``);
- a path parameter adds 404; a request body adds 400 (unparseable) and 413 (too large);
- ``FAMILY_ERRORS`` adds what a family of routes answers besides (409 busy thread, ...);
- every error status points at the one ``ErrorResponse`` schema of ``api/errors.py``;
- ``.../stream`` routes answer ``text/event-stream``; a 202/204 route whose endpoint returns a
  bare ``Response`` declares no body.

A route added anywhere gets the same treatment; ``route_error_statuses`` is what tests compare
the document (and Schemathesis the server) against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, Response
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from waypost.api.deps import get_services
from waypost.api.errors import ErrorResponse

__all__ = ["FAMILY_ERRORS", "api_routes", "install_openapi", "route_error_statuses"]

_ERROR_SCHEMA = "ErrorResponse"
_REASONS = {
    400: "The body is not parseable (e.g. not UTF-8).",
    404: "A resource named in the path does not exist.",
    409: "Conflicts with the resource's current state.",
    413: "The body exceeds the configured size limit (`payload_too_large`).",
    422: "Invalid input: validation failed (`invalid_input`) or text no database stores "
    "(`invalid_text`: NUL, unpaired surrogate).",
    500: "Unexpected server error (`internal_error`); the log has the details.",
    503: "The database is unavailable (`database_error`); retry shortly.",
}

# one server-sent event as clients parse it (``event:``/``data:``/``id:`` lines)
_SSE_EVENT = {
    "type": "object",
    "description": "One event; `data` is JSON text.",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
    },
}

# (methods, path pattern, {status: why}): what a family of routes answers besides the generic
# statuses. Patterns match FastAPI's path templates.
FAMILY_ERRORS: list[tuple[frozenset[str], re.Pattern[str], dict[int, str]]] = [
    (
        frozenset({"POST"}),
        re.compile(r"^/threads$"),
        {409: "A thread with this id exists (`if_exists: raise`)."},
    ),
    (
        frozenset({"POST"}),
        re.compile(r"^/threads/\{thread_id\}/runs(/wait|/stream)?$"),
        {
            409: "The thread is busy (`multitask_strategy: reject`).",
            404: "Unknown thread, assistant or checkpoint.",
        },
    ),
    (
        frozenset({"POST"}),
        re.compile(r"^/runs(/wait|/stream|/batch)?$"),
        {404: "Unknown assistant or checkpoint."},
    ),
    (
        frozenset({"POST"}),
        re.compile(r"^/threads/\{thread_id\}/state$"),
        {409: "The thread is busy; update its state when it is idle."},
    ),
    (
        frozenset({"DELETE"}),
        re.compile(r"/runs/\{run_id\}$"),
        {409: "The run is still active; cancel it first."},
    ),
    (
        frozenset({"POST"}),
        re.compile(r"/runs/\{run_id\}/cancel$"),
        {409: "The run already finished."},
    ),
    (
        frozenset({"POST"}),
        re.compile(r"^/approvals/\{approval_id\}/decision$"),
        {409: "Already decided, or the thread is no longer waiting for it."},
    ),
    (
        frozenset({"POST"}),
        re.compile(r"^(/threads/\{thread_id\})?/runs/crons$"),
        {404: "Unknown assistant or thread."},
    ),
    (
        frozenset({"POST"}),
        re.compile(r"^/collections/\{collection\}/documents$"),
        {
            413: "The body exceeds `api.max_ingest_body_bytes` (`payload_too_large`).",
            422: _REASONS[422] + " A batch over 50 000 documents is `too_many_documents` "
            "(`details.limit`).",
        },
    ),
    (
        frozenset({"POST"}),
        re.compile(r"^/assistants(/search|/count)?$"),
        {404: "Unknown graph.", 409: "An assistant with this id exists (`if_exists: raise`)."},
    ),
]
# success statuses a route answers besides its declared one
_EXTRA_SUCCESS: list[tuple[frozenset[str], re.Pattern[str], dict[int, str]]] = [
    (
        frozenset({"POST"}),
        re.compile(r"/runs/\{run_id\}/cancel$"),
        {204: "Cancelled and stopped (`wait=1`)."},
    ),
]


def _uses(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return dependant.call is call or any(_uses(d, call) for d in dependant.dependencies)


def _has_params(dependant: Dependant) -> tuple[bool, bool]:
    """(has path params, has a body), through sub-dependencies."""
    path = bool(dependant.path_params)
    body = bool(dependant.body_params)
    for sub in dependant.dependencies:
        sub_path, sub_body = _has_params(sub)
        path, body = path or sub_path, body or sub_body
    return path, body


def _family(
    table: Iterable[tuple[frozenset[str], re.Pattern[str], dict[int, str]]],
    method: str,
    path: str,
) -> dict[int, str]:
    found: dict[int, str] = {}
    for methods, pattern, statuses in table:
        if method in methods and pattern.search(path):
            found.update(statuses)
    return found


def api_routes(routes: Iterable[Any]) -> Iterable[Any]:
    """Every documented API route as its effective route (prefixes of included routers applied)."""
    for context in iter_route_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def route_error_statuses(route: Any, method: str) -> dict[int, str]:
    """Every error status ``route`` can answer for ``method``, with why."""
    path_params, body = _has_params(route.dependant)
    statuses = {422: _REASONS[422], 500: _REASONS[500]}
    if _uses(route.dependant, get_services):
        statuses[503] = _REASONS[503]
    if path_params:
        statuses[404] = _REASONS[404]
    if body:
        statuses[400] = _REASONS[400]
        statuses[413] = _REASONS[413]
    statuses.update(_family(FAMILY_ERRORS, method, route.path_format))
    return dict(sorted(statuses.items()))


def _bare(route: Any) -> bool:
    """The endpoint answers with a bare ``Response``: no body."""
    returns = route.endpoint.__annotations__.get("return")
    return returns is Response or returns == "Response"


def _document(schema: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{_ERROR_SCHEMA}"}
    error_content = {"application/json": {"schema": ref}}
    for route in api_routes(routes):
        item = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods:
            operation = item.get(method.lower())
            if operation is None:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, why in route_error_statuses(route, method).items():
                responses[str(status)] = {"description": why, "content": error_content}
            for status, why in _family(_EXTRA_SUCCESS, method, route.path_format).items():
                responses.setdefault(str(status), {"description": why})
            success = str(route.status_code or 200)
            if route.path_format.endswith("/stream"):
                responses[success] = {
                    "description": "Server-sent events: `metadata` first, then one event per "
                    "chunk of the requested stream modes, `error` on failure, `end` last.",
                    "content": {"text/event-stream": {"schema": _SSE_EVENT}},
                }
            elif _bare(route) and success in {"202", "204"}:
                responses[success].pop("content", None)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(
        ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs")
    )
    components[_ERROR_SCHEMA] = ErrorResponse.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components[_ERROR_SCHEMA].pop("$defs", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the generator that documents errors (built once, cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _document(schema, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
