"""Rendering and request plumbing shared by the console's pages.

``Page`` (a dependency) is the caller as a page sees it: the principal ``AuthGate`` resolved
(from the session cookie, or the anonymous admin when auth is off), the session's CSRF token,
and whether a cookie must be (re)set. ``render`` turns a Jinja2 template into an HTML response
with the console's security headers (a strict Content-Security-Policy: scripts and styles only
from ``/console/static``, no framing). ``install_console_errors`` shows console errors as pages:
no session sends the browser to the login page, anything else renders its status and message.
"""

from __future__ import annotations

import datetime as dt
import hmac
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from waypost.api.auth import auth_enabled
from waypost.api.console.session import (
    COOKIE,
    cookie_from_headers,
    csrf_token,
    is_https,
    read_cookie,
    session_cookie_header,
    sign_session,
)
from waypost.api.deps import app_settings
from waypost.runtime.errors import (
    AuthError,
    Forbidden,
    RateLimited,
    ValidationFailed,
    WaypostError,
)
from waypost.runtime.settings import Settings
from waypost.server.identity import Principal
from waypost.server.serde import find_unstorable

__all__ = [
    "COOKIE",
    "Page",
    "PageContext",
    "form_data",
    "install_console_errors",
    "redirect",
    "render",
    "require_csrf",
    "safe_next",
    "templates",
]

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _ago(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return duration((dt.datetime.now(dt.UTC) - moment).total_seconds())


def duration(seconds: float | None) -> str:
    """A short human duration: 850 ms, 12 s, 4 min, 3 h, 2 d."""
    if seconds is None:
        return ""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _iso(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return moment.isoformat()


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


def _usd(value: float | None) -> str:
    if not value:
        return "$0"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _build_env() -> Environment:
    env = Environment(
        loader=PackageLoader("waypost.api.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ago=_ago, iso=_iso, when=_when, pretty=_pretty, usd=_usd, duration=duration)
    env.filters["tojson_data"] = lambda v: json.dumps(v, default=str).replace("</", "<\\/")
    return env


templates = _build_env()


@dataclass
class PageContext:
    """The caller of a console page and its session."""

    principal: Principal | None
    settings: Settings
    nonce: str
    set_cookie: str | None  # a Set-Cookie value to send with the response
    auth_on: bool

    @property
    def csrf(self) -> str:
        return csrf_token(self.settings, self.nonce)

    def can(self, scope: str) -> bool:
        return self.principal is not None and self.principal.can(scope)

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise AuthError("log in to the console")
        return self.principal


async def page_context(request: Request) -> PageContext:
    settings = await app_settings(request)
    services = getattr(request.app.state, "services", None)
    identities = getattr(services, "identities", None)
    custom = getattr(request.app.state, "custom_auth", None)
    principal: Principal | None = getattr(request.state, "principal", None)
    cookie = read_cookie(settings, cookie_from_headers(request.scope.get("headers", [])))
    set_cookie = None
    if cookie is None:  # no session yet: a nonce-only one, so forms carry a CSRF token
        value = sign_session(settings, None)
        parsed = read_cookie(settings, value)
        assert parsed is not None
        cookie = parsed
        set_cookie = session_cookie_header(
            value,
            secure=is_https(request.scope),
            max_age=int(settings.api.console_session_hours * 3600),
        )
    return PageContext(
        principal=principal,
        settings=settings,
        nonce=cookie.nonce,
        set_cookie=set_cookie,
        auth_on=auth_enabled(settings, identities, custom),
    )


Page = Annotated[PageContext, Depends(page_context)]


def render(page: PageContext, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    html = templates.get_template(template).render(page=page, **values)
    response = HTMLResponse(html, status_code=status, headers=_HEADERS)
    if page.set_cookie:
        response.headers.append("set-cookie", page.set_cookie)
    return response


def redirect(url: str, page: PageContext | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303, headers=_HEADERS)
    if page is not None and page.set_cookie:
        response.headers.append("set-cookie", page.set_cookie)
    return response


async def form_data(request: Request) -> dict[str, str]:
    """A urlencoded form body (repeated keys: the last wins); unstorable text is refused."""
    body = (await request.body()).decode("utf-8", errors="replace")
    form = dict(parse_qsl(body, keep_blank_values=True, max_num_fields=200))
    found = find_unstorable(form)
    if found is not None:
        raise ValidationFailed(f"the form may not contain a {found[0]} character")
    return form


def require_csrf(page: PageContext, form: Mapping[str, str]) -> None:
    """403 unless the form's token is this session's (the cookie's nonce)."""
    sent = form.get("csrf_token", "")
    if page.set_cookie is not None or not hmac.compare_digest(sent, page.csrf):
        raise Forbidden(
            "the form's security token is missing or stale: reload the page and try again",
            details={"reason": "csrf"},
        )


def safe_next(target: str | None) -> str:
    """A post-login destination inside the console (never another site)."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console/approvals"


def install_console_errors(app: FastAPI) -> None:
    """Console paths answer errors with pages (API paths keep their JSON errors)."""
    previous_waypost = app.exception_handlers[WaypostError]
    previous_validation = app.exception_handlers[RequestValidationError]
    previous_http = app.exception_handlers[StarletteHTTPException]

    async def on_waypost_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WaypostError)
        if not request.url.path.startswith("/console"):
            return await _delegate(previous_waypost, request, exc)
        if isinstance(exc, AuthError) and not isinstance(exc, Forbidden):
            target = request.url.path
            if request.method != "GET" or target.endswith("/stream"):
                target = "/console/approvals"
            elif request.url.query:
                target = f"{target}?{request.url.query}"
            return redirect(f"/console/login?next={quote(target, safe='/')}")
        response = await _error_page(request, exc.http_status, exc.code, exc.message)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return response

    async def on_validation(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/console"):
            return await _delegate(previous_validation, request, exc)
        return await _error_page(
            request, 422, "invalid_input", "The request's parameters are invalid."
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not request.url.path.startswith("/console"):
            return await _delegate(previous_http, request, exc)
        return await _error_page(request, exc.status_code, "http_error", str(exc.detail))

    app.add_exception_handler(WaypostError, on_waypost_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """Call the API's own handler for a path outside the console."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, Response)
    return result


async def _error_page(request: Request, status: int, code: str, message: str) -> Response:
    page = await page_context(request)
    titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Slow down"}
    return render(
        page,
        "error.html",
        status=status,
        title=titles.get(status, "Something went wrong"),
        code=code,
        message=message,
    )
