"""Console sessions: a signed cookie that names an API key, and CSRF tokens bound to it.

Logging in with an API key (checked by ``IdentityStore.verify``) sets the cookie
``waypost_console``: ``{"k": key id, "n": nonce, "e": expiry}`` signed with HMAC-SHA256 under a
key derived from ``settings.secret_key``. It is HttpOnly, ``SameSite=Lax``, scoped to
``/console``, and ``Secure`` when the request came over https (directly or as
``X-Forwarded-Proto: https``). Each request re-reads the key by id, so revoking or expiring the
key ends its console sessions within the key cache time (``WAYPOST_LIMITS__KEY_CACHE_S``).

Every form carries a CSRF token, an HMAC of the session's nonce: a page from another site can
neither read it nor forge it. Without auth (development, no key exists) the cookie carries only
a nonce (``"k": null``) so forms are protected all the same, and the caller is the anonymous
admin. ``AuthGate`` asks ``read_session`` for ``/console`` paths only; the rest of the API stays
key-only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from http.cookies import SimpleCookie
from typing import Any

from starlette.types import Scope
from waypost.runtime.settings import Settings
from waypost.server.identity import IdentityStore, Principal

__all__ = [
    "COOKIE",
    "SessionCookie",
    "csrf_token",
    "is_https",
    "make_session_reader",
    "read_cookie",
    "session_cookie_header",
    "sign_session",
]

COOKIE = "waypost_console"
COOKIE_PATH = "/console"


@dataclass(frozen=True)
class SessionCookie:
    key_id: str | None  # None: a pre-login or auth-off session (nonce only)
    nonce: str
    expires: float


def _signing_key(settings: Settings) -> bytes:
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, b"waypost console session v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_session(settings: Settings, key_id: str | None, *, nonce: str | None = None) -> str:
    """A fresh cookie value for ``key_id`` (a new nonce unless given), valid for the
    configured session length."""
    expires = time.time() + settings.api.console_session_hours * 3600
    body = _b64(
        json.dumps(
            {"k": key_id, "n": nonce or secrets.token_urlsafe(16), "e": int(expires)},
            separators=(",", ":"),
        ).encode()
    )
    mac = _b64(hmac.new(_signing_key(settings), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def read_cookie(settings: Settings, value: str | None) -> SessionCookie | None:
    """The session a cookie value stands for, or None (absent, tampered, expired)."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    expected = _b64(hmac.new(_signing_key(settings), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        data: Any = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        return None
    expires = data.get("e")
    if not isinstance(expires, int) or expires < time.time():
        return None
    key_id = data.get("k")
    return SessionCookie(key_id if isinstance(key_id, str) else None, data["n"], float(expires))


def csrf_token(settings: Settings, nonce: str) -> str:
    """The CSRF token of a session (forms send it back; compared in constant time)."""
    mac = hmac.new(_signing_key(settings), f"csrf:{nonce}".encode(), hashlib.sha256).digest()
    return _b64(mac)


def cookie_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, raw in headers:
        if name.lower() != b"cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw.decode("latin-1"))
        except Exception:  # a malformed Cookie header is no session
            continue
        if COOKIE in jar:
            return jar[COOKIE].value
    return None


def is_https(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    for name, raw in scope.get("headers", []):
        if name.lower() == b"x-forwarded-proto":
            return bool(raw.decode("latin-1").split(",")[0].strip().lower() == "https")
    return False


def session_cookie_header(value: str | None, *, secure: bool, max_age: int) -> str:
    """A ``Set-Cookie`` value; ``value=None`` clears the cookie."""
    parts = [
        f"{COOKIE}={value or ''}",
        f"Path={COOKIE_PATH}",
        "HttpOnly",
        "SameSite=Lax",
        f"Max-Age={max_age if value else 0}",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def make_session_reader(
    settings: Settings,
) -> Callable[[Scope], Awaitable[Principal | None]]:
    """``AuthGate``'s hook: the principal of a ``/console`` request's session cookie."""

    async def read_session(scope: Scope) -> Principal | None:
        session = read_cookie(settings, cookie_from_headers(scope.get("headers", [])))
        if session is None or session.key_id is None:
            return None
        app = scope.get("app")
        services = getattr(getattr(app, "state", None), "services", None)
        identities: IdentityStore | None = getattr(services, "identities", None)
        if identities is None:
            return None
        principal = identities.principal_for_key_id(session.key_id)
        return None if principal is None else replace(principal, kind="session")

    return read_session
