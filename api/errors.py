"""Map errors to JSON responses: ``{"error": {"code", "message", "details"}}``.

``WaypostError`` subclasses carry their own ``code`` and ``http_status``; request validation is
422 ``invalid_input`` with pydantic's error list in ``details``; a database that cannot be reached
is 503 ``database_error``; anything else unexpected is a 500 ``internal_error`` whose body never
includes a stack trace (the log has it). ``ErrorResponse`` is that body's schema in OpenAPI.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from waypost.runtime.errors import RateLimited, WaypostError
from waypost.server.serde import to_jsonable

__all__ = ["ErrorResponse", "error_body", "install_error_handlers", "unexpected_error"]

log = logging.getLogger(__name__)
# the database went away (restart, killed connections, network): retrying later may succeed
_DB_DOWN: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    sqlite3.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.DisconnectionError,
)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable error code, e.g. not_found")
    message: str = Field(description="what went wrong, for humans")
    details: dict[str, Any] = Field(default_factory=dict, description="structured context")


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


async def _waypost_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WaypostError)
    headers = {}
    if isinstance(exc, RateLimited):
        retry = str(max(1, round(exc.retry_after_s)))
        headers["Retry-After"] = retry
        headers["RateLimit-Limit"] = str(exc.details.get("limit", ""))
        headers["RateLimit-Remaining"] = "0"
        headers["RateLimit-Reset"] = retry
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
    code = {
        400: "invalid_body",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def unexpected_error(exc: BaseException, method: str, path: str) -> tuple[int, dict[str, Any]]:
    """Status and body for an exception no handler took: 503 for a lost database, else 500."""
    if isinstance(exc, _DB_DOWN):
        log.warning("database unavailable on %s %s: %s", method, path, exc)
        return 503, error_body("database_error", "database unavailable; retry shortly")
    log.error("unhandled error on %s %s", method, path, exc_info=exc)
    return 500, error_body("internal_error", "internal server error")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    status, body = unexpected_error(exc, request.method, request.url.path)
    return JSONResponse(body, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WaypostError, _waypost_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
