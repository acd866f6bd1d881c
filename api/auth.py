"""Authentication, authorization and rate limits, enforced on every route.

- ``AuthGate`` (ASGI middleware, outermost): checks the ``Host`` header (DNS rebinding), resolves
  the caller from ``x-api-key`` / ``Authorization: Bearer`` (or a custom ``langgraph_sdk.Auth``),
  answers 401 without one once auth is on, and applies the per-key and per-tenant request rate.
- ``authorize`` (a dependency of every API route): the route's rule from ``api.access`` (fail
  closed), the role's scopes (403), the runs-per-minute rate, the custom ``@auth.on`` handler,
  and ownership of every id in the path: another tenant's thread, run or approval answers 404,
  exactly like one that does not exist.

Auth is on once a key exists, a custom auth object is configured, or ``api.require_auth`` is
set. Until then (the embedded development default, loopback only) callers are anonymous admins
of the default tenant; ``waypost serve`` refuses that on a non-loopback bind or in production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from waypost.api.access import Access, access_for
from waypost.api.custom_auth import CustomAuth
from waypost.runtime.errors import AuthError, Forbidden, NotFound, RateLimited, WaypostError
from waypost.runtime.settings import Settings
from waypost.server.identity import ANONYMOUS, IdentityStore, Principal, filter_matches

__all__ = [
    "RESERVED_KEYS",
    "AuthGate",
    "Caller",
    "Launch",
    "Launched",
    "RateLimiter",
    "auth_enabled",
    "authorize",
    "caller",
    "credential_of",
]

_log = logging.getLogger(__name__)
_STATE_PRINCIPAL = "principal"
_STATE_METADATA = "auth_metadata"  # metadata as a custom handler left it (stamps on create)


def credential_of(headers: dict[str, str]) -> str | None:
    """The API key of a request: ``x-api-key``, else ``Authorization: Bearer``."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_of(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:2024
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class RateLimiter:
    """Sliding-window limits per key and per tenant (``limits``: memory or Redis storage).

    The sliding window counter weighs the previous minute's count by how much of it still
    overlaps the window: two counters per key, O(1) a hit. A moving window keeps every hit's
    timestamp, so each hit costs O(hits in the last minute) and a busy key slows every request.
    """

    def __init__(self, storage_uri: str) -> None:
        from limits.aio.strategies import SlidingWindowCounterRateLimiter

        self.storage = self._storage(storage_uri)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)

    @staticmethod
    def _storage(uri: str) -> Any:
        from limits.aio.storage import MemoryStorage, RedisStorage

        if uri.startswith("memory://"):
            return MemoryStorage()
        if uri.startswith(("redis://", "rediss://")):
            return RedisStorage(uri, implementation="redispy", socket_timeout=2)
        raise ValueError(f"rate limit storage {uri!r}: use memory:// or redis://")

    async def hit(self, what: str, who: str, per_minute: int | None) -> None:
        """Count one event; ``RateLimited`` (429 with ``Retry-After``) past the limit."""
        if per_minute is None:
            return
        from limits import RateLimitItemPerMinute

        item = RateLimitItemPerMinute(per_minute)
        if await self.strategy.hit(item, what, who):
            return
        reset, _remaining = await self.strategy.get_window_stats(item, what, who)
        retry = max(1, int(reset - time.time()) + 1)
        raise RateLimited(
            f"{what} limit of {per_minute} per minute reached for {who}; retry in {retry} s",
            retry_after_s=retry,
            details={"limit": per_minute, "window_s": 60, "scope": what},
        )


@dataclasses.dataclass
class _TenantLimits:
    requests_per_minute: int | None
    runs_per_minute: int | None
    until: float


class AuthGate:
    """The outermost layer: host check, caller, request rate. Errors are the API's JSON errors."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        custom: CustomAuth | None = None,
        session_reader: Callable[[Scope], Awaitable[Principal | None]] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.custom = custom
        self.session_reader = session_reader
        self.public = set(settings.api.public_paths)
        self.allowed_hosts = {h.lower() for h in settings.api.allowed_hosts}
        self.allowed_hosts.add(settings.api.host.lower())
        self.limiter = RateLimiter(settings.limits.storage)
        self._limits: dict[str, _TenantLimits] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            self._check_host(headers.get("host", ""))
            principal = await self._authenticate(scope, headers)
            if principal is not None:
                await self._rate(scope, principal)
                if scope["path"] == "/metrics" and not principal.operates_deployment:
                    # every tenant's figures: the deployment's operators only
                    raise Forbidden("/metrics is for admins of the default tenant")
        except WaypostError as exc:
            await _send_error(send, exc)
            return
        scope.setdefault("state", {})[_STATE_PRINCIPAL] = principal
        scope["state"]["auth_limiter"] = self
        await self.app(scope, receive, send)

    def _check_host(self, value: str) -> None:
        if "*" in self.allowed_hosts or not value:
            return
        host = _host_of(value)
        if _is_loopback(host) or host in self.allowed_hosts:
            return
        raise _InvalidHost(
            f"Host {host!r} is not served here; add it to WAYPOST_API__ALLOWED_HOSTS",
            details={"host": host},
        )

    def _services(self, scope: Scope) -> Any:
        app = scope.get("app")
        return getattr(getattr(app, "state", None), "services", None)

    async def _authenticate(self, scope: Scope, headers: dict[str, str]) -> Principal | None:
        if scope["path"] in self.public:
            return None
        if self.custom is not None:
            return await self.custom.authenticate(Request(scope))
        if self.session_reader is not None and scope["path"].startswith("/console"):
            found = await self.session_reader(scope)
            if found is not None:
                return found
        services = self._services(scope)
        identities: IdentityStore | None = getattr(services, "identities", None)
        key = credential_of(headers)
        enabled = self.settings.api.require_auth or (
            identities is not None and identities.any_key()
        )
        if not enabled:
            return ANONYMOUS  # development default: any key (e.g. a UI's placeholder) ignored
        if scope["path"].startswith("/console"):
            return None  # the console's pages send the browser to its login
        if identities is None:
            raise _ServiceStarting("the server is still starting")
        if key is None:
            raise AuthError(
                "an API key is required: send it as x-api-key or Authorization: Bearer",
                details={"hint": "create one with `waypost keys create --tenant T --role R`"},
            )
        principal = identities.verify(key)
        if principal is None:
            raise AuthError("invalid, expired or revoked API key")
        return principal

    async def limits_of(self, scope: Scope, tenant: str) -> _TenantLimits:
        now = time.monotonic()
        found = self._limits.get(tenant)
        if found is not None and now < found.until:
            return found
        defaults = self.settings.limits
        rpm, runs = defaults.requests_per_minute, defaults.runs_per_minute
        services = self._services(scope)
        identities: IdentityStore | None = getattr(services, "identities", None)
        if identities is not None:
            try:
                row = identities.tenant(tenant)
            except NotFound:
                row = None
            if row is not None:
                rpm = row.requests_per_minute or rpm
                runs = row.runs_per_minute or runs
        found = _TenantLimits(rpm, runs, now + 5.0)
        self._limits[tenant] = found
        return found

    async def _rate(self, scope: Scope, principal: Principal) -> None:
        if principal.kind == "anonymous":
            return
        rpm = (await self.limits_of(scope, principal.tenant)).requests_per_minute
        await self.limiter.hit("requests", f"key:{principal.key_id or principal.identity}", rpm)
        await self.limiter.hit("requests", f"tenant:{principal.tenant}", rpm)


class _InvalidHost(WaypostError):
    code = "invalid_host"
    http_status = 400


class _ServiceStarting(WaypostError):
    code = "starting"
    http_status = 503


async def _send_error(send: Send, exc: WaypostError) -> None:
    body = json.dumps({"error": exc.to_dict()}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if isinstance(exc, RateLimited):
        retry = str(int(exc.retry_after_s)).encode()
        limit = str(exc.details.get("limit", "")).encode()
        headers += [
            (b"retry-after", retry),
            (b"ratelimit-limit", limit),
            (b"ratelimit-remaining", b"0"),
            (b"ratelimit-reset", retry),
        ]
    if isinstance(exc, AuthError) and not isinstance(exc, Forbidden):
        headers.append((b"www-authenticate", b'Bearer realm="waypost"'))
    message: Message = {
        "type": "http.response.start",
        "status": exc.http_status,
        "headers": headers,
    }
    await send(message)
    await send({"type": "http.response.body", "body": body})


def auth_enabled(settings: Settings, identities: IdentityStore | None, custom: Any) -> bool:
    return bool(
        custom is not None
        or settings.api.require_auth
        or (identities is not None and identities.any_key())
    )


# -- per route ------------------------------------------------------------------------------


async def caller(request: Request) -> Principal:
    """The authenticated caller (set by ``AuthGate``)."""
    principal: Principal | None = getattr(request.state, _STATE_PRINCIPAL, None)
    if principal is None:
        raise AuthError("this route needs a credential")
    return principal


Caller = Annotated[Principal, Depends(caller)]


async def authorize(request: Request) -> None:
    """The route's access rule, scopes, run rate, custom handler and path ownership."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    access = access_for(request.method, path)
    if access is None:
        raise Forbidden(f"{request.method} {path} has no access rule")
    if access.scope == "public":
        return
    principal = await caller(request)
    needs = access.scope
    if access.starts_run and await _resumes(request):
        needs = "decide"  # a run that answers a paused run's approval is a reviewer's decision
    if not principal.can(needs):
        raise Forbidden(
            f"role {principal.role} may not {needs} ({request.method} {path})",
            details={"role": principal.role, "needs": needs},
        )
    gate: AuthGate | None = getattr(request.state, "auth_limiter", None)
    if gate is not None and principal.kind != "anonymous":
        limits = await gate.limits_of(request.scope, principal.tenant)
        if access.starts_run:
            await gate.limiter.hit(
                "runs", f"key:{principal.key_id or principal.identity}", limits.runs_per_minute
            )
            await gate.limiter.hit("runs", f"tenant:{principal.tenant}", limits.runs_per_minute)
    if access.starts_run:
        services = getattr(request.app.state, "services", None)
        # a tenant at its quota starts nothing new (429); most tenants have none: no query
        if services is not None and services.quotas.limits(principal.tenant).any:
            await asyncio.to_thread(services.quotas.check, principal.tenant)
    custom: CustomAuth | None = getattr(request.app.state, "custom_auth", None)
    if custom is not None and access.resource and access.action:
        principal = await _custom(request, custom, principal, access)
        request.state.principal = principal
    await _check_ownership(request, principal)


async def _resumes(request: Request) -> bool:
    """Whether a run-creating request carries ``command.resume``."""
    try:
        body = await request.json()
    except Exception:
        return False
    items = body if isinstance(body, list) else [body]
    return any(
        isinstance(b, dict)
        and isinstance(b.get("command"), dict)
        and b["command"].get("resume") is not None
        for b in items
    )


async def _custom(
    request: Request, custom: CustomAuth, principal: Principal, access: Access
) -> Principal:
    assert access.resource is not None and access.action is not None
    body: dict[str, Any] = {}
    if request.method in ("POST", "PATCH", "PUT", "DELETE"):
        try:
            parsed = await request.json()
            body = parsed if isinstance(parsed, dict) else {}
        except Exception:
            body = {}
    value: dict[str, Any] = {**request.path_params, **body}
    metadata = body.get("metadata")
    value["metadata"] = dict(metadata) if isinstance(metadata, dict) else {}
    if access.resource == "store":
        value["namespace"] = tuple(body.get("namespace") or body.get("namespace_prefix") or ())
    flt = await custom.authorize(principal, access.resource, access.action, value)
    request.state.__setattr__(_STATE_METADATA, value["metadata"])
    filters = dict(principal.filters or {})
    if flt:
        filters[access.resource] = flt
    return dataclasses.replace(principal, filters=filters or None)


# keys of ``config.configurable`` only the server sets (a body cannot claim another identity)
RESERVED_KEYS = frozenset(
    {
        "langgraph_auth_user",
        "langgraph_auth_user_id",
        "langgraph_auth_permissions",
        "langgraph_request_id",
        "waypost_tenant",
        "tenant",
    }
)


@dataclasses.dataclass(frozen=True)
class Launched:
    """Who starts a run, and the metadata a custom handler stamped (if one ran)."""

    principal: Principal
    stamped: dict[str, Any] | None = None

    def metadata(self, given: dict[str, Any] | None) -> dict[str, Any] | None:
        if self.stamped is None:
            return given
        return {**(given or {}), **self.stamped}


async def launched(request: Request) -> Launched:
    return Launched(await caller(request), getattr(request.state, _STATE_METADATA, None))


Launch = Annotated[Launched, Depends(launched)]


def stamped_metadata(request: Request, given: dict[str, Any] | None) -> dict[str, Any] | None:
    """The metadata to store on create: what a custom handler made of the body's, if one ran."""
    stamped = getattr(request.state, _STATE_METADATA, None)
    if stamped is None:
        return given
    return {**(given or {}), **stamped}


async def _check_ownership(request: Request, principal: Principal) -> None:
    """Ids in the path must be the caller's tenant's (and pass its filters), else 404."""
    params = request.path_params
    services = getattr(request.app.state, "services", None)
    if services is None or not params:
        return
    thread_id = params.get("thread_id")
    if thread_id:
        try:
            thread = await services.store.get_thread(thread_id)
        except NotFound:
            return  # the route answers for ids that do not exist (or creates the thread)
        flt = (principal.filters or {}).get("threads")
        if thread.tenant != principal.tenant or not filter_matches(thread.meta, flt):
            raise NotFound(f"thread {thread_id} not found")
    run_id = params.get("run_id")
    if run_id and not thread_id:
        found = await services.queue.get_run(run_id)
        if found is not None and found.tenant != principal.tenant:
            raise NotFound(f"run {run_id} not found")
    approval_id = params.get("approval_id")
    if approval_id:
        try:
            approval = await services.approvals.get(approval_id)
        except NotFound:
            return
        if approval.tenant != principal.tenant:
            raise NotFound(f"approval {approval_id} not found")
