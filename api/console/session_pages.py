"""Login, logout, the console's home, and its static assets."""

from __future__ import annotations

import asyncio
import hashlib
from functools import lru_cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import Response
from waypost.api.console.session import is_https, session_cookie_header, sign_session
from waypost.api.console.web import (
    Page,
    form_data,
    redirect,
    render,
    require_csrf,
    safe_next,
)
from waypost.api.deps import AppServices
from waypost.runtime.errors import NotFound

router = APIRouter(prefix="/console", include_in_schema=False)

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/plain; charset=utf-8",
}


@router.get("")
async def home(page: Page) -> Response:
    return redirect("/console/approvals", page)


@router.get("/login")
async def login_page(page: Page, next: str | None = None) -> Response:
    if not page.auth_on or page.principal is not None:
        return redirect(safe_next(next), page)
    return render(page, "login.html", next=safe_next(next), problem=None)


@router.post("/login")
async def login(request: Request, page: Page, services: AppServices) -> Response:
    """Exchange an API key for a session cookie (a fresh nonce: no session fixation)."""
    form = await form_data(request)
    require_csrf(page, form)
    target = safe_next(form.get("next"))
    key = form.get("api_key", "").strip()
    principal = await asyncio.to_thread(services.identities.verify, key) if key else None
    if principal is None or principal.key_id is None:
        return render(
            page,
            "login.html",
            status=401,
            next=target,
            problem="That key is not valid (unknown, expired or revoked).",
        )
    value = sign_session(page.settings, principal.key_id)
    response = redirect(target)
    response.headers.append(
        "set-cookie",
        session_cookie_header(
            value,
            secure=is_https(request.scope),
            max_age=int(page.settings.api.console_session_hours * 3600),
        ),
    )
    return response


@router.post("/logout")
async def logout(request: Request, page: Page) -> Response:
    form = await form_data(request)
    require_csrf(page, form)
    response = redirect("/console/login")
    response.headers.append(
        "set-cookie", session_cookie_header(None, secure=is_https(request.scope), max_age=0)
    )
    return response


@lru_cache(maxsize=32)
def _asset(name: str) -> tuple[bytes, str] | None:
    if ".." in name or name.startswith("/") or not any(name.endswith(s) for s in _TYPES):
        return None
    path = files("waypost.api.console").joinpath("static", *name.split("/"))
    if not path.is_file():
        return None
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


@router.get("/static/{name:path}")
async def static(name: str, request: Request) -> Response:
    found = _asset(name)
    if found is None:
        raise NotFound(f"no asset {name}")
    data, etag = found
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    suffix = name[name.rfind(".") :]
    return Response(data, media_type=_TYPES[suffix], headers=headers)
