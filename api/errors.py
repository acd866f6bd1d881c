"""Map errors to JSON responses: ``{"error": {"code", "message", "details"}}``.

``WaypostError`` subclasses carry their own ``code`` and ``http_status``; request validation is
422 ``invalid_input`` with pydantic's error list in ``details``; anything unexpected is a 500
``internal_error`` whose body never includes a stack trace (the log has it).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from waypost.runtime.errors import RateLimited, WaypostError
from waypost.server.serde import to_jsonable

__all__ = ["error_body", "install_error_handlers"]

log = logging.getLogger(__name__)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


async def _waypost_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WaypostError)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    unknown = [
        ".".join(str(p) for p in e["loc"][1:]) for e in errors if e["type"] == "extra_forbidden"
    ]
    message = (
        f"unknown or unsupported field(s): {', '.join(unknown)}"
        if unknown
        else "request validation failed"
    )
    return JSONResponse(
        error_body("invalid_input", message, {"errors": to_jsonable(errors)}), status_code=422
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WaypostError, _waypost_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
