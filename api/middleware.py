"""ASGI middleware around every route, so routes added anywhere get the same treatment.

- ``LastResort``: an exception no handler took becomes a JSON 500 (503 for a lost database)
  *without* dropping the keep-alive connection, as Starlette's own error middleware does.
- ``BodySizeLimit``: 413 JSON before the route reads a byte too many.
- ``TextGuard``: 422 ``invalid_text`` for a NUL character or an unpaired surrogate anywhere in
  the path, the query or a JSON body: no database stores them faithfully (PostgreSQL refuses
  NUL, an unpaired surrogate cannot be encoded), so they are refused before anything is written.
- ``UntypedJson``: a body with no ``Content-Type`` from a client that is not a browser is read
  as JSON, as the LangGraph server reads it: the Next.js passthrough of Agent Chat UI
  (``langgraph-nextjs-api-passthrough``) forwards only ``x-*`` and ``authorization`` headers.
  A browser always sends ``Origin`` on such a request; it keeps FastAPI's strict check, which
  stops a web page from posting JSON to a loopback server without a CORS preflight (CSRF).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from waypost.api.errors import unexpected_error
from waypost.runtime.errors import InvalidText
from waypost.server.serde import find_unstorable

__all__ = ["BodySizeLimit", "LastResort", "TextGuard", "UntypedJson"]

log = logging.getLogger(__name__)
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# a JSON escape that may decode to NUL or to a surrogate: only then is the body parsed here
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class LastResort:
    """Answer an unhandled exception with a JSON error and keep the connection usable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # a body was cut short: dropping the connection is the honest signal
                raise
            status, body = unexpected_error(exc, scope.get("method", ""), scope.get("path", ""))
            await _send_json(send, status, body)


class TextGuard:
    """Refuse unstorable text in the path, the query string and JSON bodies (422)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower():
            await self._reject(send, "NUL", ["path" if "\x00" in scope["path"] else "query"])
            return
        if scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before sending its body
                await self.app(scope, _replay(message, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _SUSPECT.search(body):
            try:
                found = find_unstorable(json.loads(body))
            except ValueError:  # not JSON: the route answers that
                found = None
            if found is not None:
                await self._reject(send, found[0], ["body", *found[1]])
                return
        whole: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay(whole, receive), send)

    async def _reject(self, send: Send, problem: str, where: list[Any]) -> None:
        error = InvalidText(
            f"text may not contain a {problem} character (at {'.'.join(map(str, where))}): "
            "no database stores it faithfully",
            details={"problem": problem, "loc": where},
        )
        await _send_json(send, error.http_status, {"error": error.to_dict()})


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``first`` once, then reads the client again (disconnects)."""
    pending: list[Message] = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``: by Content-Length up front, else while streaming.

    ``larger`` lifts the limit for a few routes that take bulk bodies by design, as (method,
    path pattern, bytes): the document batches of ``POST /collections/{name}/documents``.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: Sequence[tuple[str, re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple(larger)

    def _limit(self, scope: Scope) -> int:
        method, path = scope.get("method", ""), scope.get("path", "")
        for wanted, pattern, max_bytes in self.larger:
            if method == wanted and pattern.fullmatch(path):
                return max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._reject(send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body: dict[str, Any] = {
            "error": {
                "code": "payload_too_large",
                "message": f"request body exceeds {limit} bytes",
                "details": {"max_body_bytes": limit},
            }
        }
        await _send_json(send, 413, body)


class UntypedJson:
    """Give a body without ``Content-Type`` the JSON type, unless a browser sent it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in _BODY_METHODS:
            names = {name.lower() for name, _ in scope.get("headers") or []}
            if b"content-type" not in names and b"origin" not in names:
                headers = [*scope.get("headers", []), (b"content-type", b"application/json")]
                scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
