"""Who is calling: tenants, API keys and roles.

A key looks like ``wp_<prefix>_<secret>``. Only its lookup prefix and the SHA-256 of the whole
key are stored; the key itself is shown once, when it is created. The secret carries 256 bits
of randomness, so a fast hash is the right one (a password hash buys nothing against a search
of that size and costs milliseconds per request); comparison is constant-time.

Roles are sets of scopes:

    admin     read, run, decide, configure, admin
    operator  read, run            (start and cancel runs, create threads)
    reviewer  read, decide         (approve, reject, edit approvals)
    viewer    read
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from waypost.runtime.db import Base
from waypost.runtime.errors import Conflict, NotFound, ValidationFailed
from waypost.runtime.models import utcnow

__all__ = [
    "ANONYMOUS",
    "ROLES",
    "ROLE_SCOPES",
    "ApiKey",
    "ApprovalEvent",
    "IdentityStore",
    "IssuedKey",
    "Principal",
    "Role",
    "Scope",
    "Tenant",
    "filter_matches",
    "hash_key",
]

Role = Literal["admin", "operator", "reviewer", "viewer"]
Scope = Literal["read", "run", "decide", "configure", "admin"]
ROLES: tuple[Role, ...] = ("admin", "operator", "reviewer", "viewer")
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "run", "decide", "configure", "admin"}),
    "operator": frozenset({"read", "run"}),
    "reviewer": frozenset({"read", "decide"}),
    "viewer": frozenset({"read"}),
}
_KEY = re.compile(r"^wp_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{20,})$")
_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Tenant(Base):
    """A customer of the deployment: owns threads, runs, approvals, ledger rows, scorecards."""

    __tablename__ = "tenants"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), default="")
    tokens_per_day: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tokens_per_month: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    usd_per_day: Mapped[float | None] = mapped_column(Float, nullable=True)
    usd_per_month: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    runs_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.tenant"))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and _aware(self.expires_at) <= utcnow():
            return "expired"
        return "active"


class ApprovalEvent(Base):
    """The audit trail of an approval: who did what, when, and the arguments before and after."""

    __tablename__ = "approval_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(String(36))
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    event: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    arguments_before: Mapped[Any] = mapped_column(JSON, nullable=True)
    arguments_after: Mapped[Any] = mapped_column(JSON, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request.

    ``identity`` is what approvals record as the decider. ``user`` is what a custom
    ``langgraph_sdk.Auth`` handler returned (injected into run configs, as LangGraph does).
    ``filters`` are the metadata filters its ``@auth.on`` handlers returned for this request.
    """

    tenant: str
    role: str
    identity: str
    kind: Literal["key", "custom", "anonymous", "session"] = "key"
    key_id: str | None = None
    display_name: str | None = None
    permissions: tuple[str, ...] = ()
    user: Mapping[str, Any] | None = None
    filters: Mapping[str, Any] | None = None

    def can(self, scope: str) -> bool:
        return scope in ROLE_SCOPES.get(self.role, frozenset())

    @property
    def operates_deployment(self) -> bool:
        """An admin of the ``default`` tenant runs the deployment: only they see figures that
        span tenants (``/metrics``, the all-tenants dashboard). Other tenants' admins do not."""
        return self.role == "admin" and self.tenant == "default"

    def run_identity(self) -> dict[str, Any]:
        """What a run's config carries about its caller (``configurable``)."""
        user = dict(self.user) if self.user else {"identity": self.identity}
        return {
            "langgraph_auth_user": {**user, "tenant": self.tenant, "role": self.role},
            "langgraph_auth_user_id": self.identity,
            "langgraph_auth_permissions": list(self.permissions),
            "waypost_tenant": self.tenant,
        }


ANONYMOUS = Principal(tenant="default", role="admin", identity="anonymous", kind="anonymous")
"""The caller of a development server with no keys: loopback only (see docs/security.md)."""


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once
    key_id: str
    tenant: str
    role: str
    prefix: str
    expires_at: dt.datetime | None


@dataclass
class _Cached:
    principal: Principal | None
    until: float


@dataclass
class IdentityStore:
    """Tenants and keys in the app database; verified keys are cached for ``cache_s``."""

    sessions: sessionmaker[Session]
    cache_s: float = 2.0
    _cache: dict[str, _Cached] = field(default_factory=dict)
    _any_key: tuple[bool, float] = (False, 0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- tenants --------------------------------------------------------------------------------
    def create_tenant(self, tenant: str, name: str = "") -> Tenant:
        if not _TENANT_ID.match(tenant):
            raise ValidationFailed(
                "a tenant id is 1-64 lowercase letters, digits, '-' or '_', starting with a "
                "letter or digit"
            )
        with self.sessions() as session, session.begin():
            if session.get(Tenant, tenant) is not None:
                raise Conflict(f"tenant {tenant} already exists")
            row = Tenant(tenant=tenant, name=name or tenant, created_at=utcnow())
            session.add(row)
        return row

    def tenants(self) -> list[Tenant]:
        with self.sessions() as session:
            return list(session.scalars(select(Tenant).order_by(Tenant.tenant)))

    def tenant(self, tenant: str) -> Tenant:
        with self.sessions() as session:
            row = session.get(Tenant, tenant)
        if row is None:
            raise NotFound(f"tenant {tenant} not found")
        return row

    def set_limits(self, tenant: str, **values: int | float | None) -> Tenant:
        """Quotas and rate limits; a value of None removes that limit (settings apply)."""
        allowed = {
            "tokens_per_day",
            "tokens_per_month",
            "usd_per_day",
            "usd_per_month",
            "requests_per_minute",
            "runs_per_minute",
        }
        with self.sessions() as session, session.begin():
            row = session.get(Tenant, tenant)
            if row is None:
                raise NotFound(f"tenant {tenant} not found")
            for name, value in values.items():
                if name not in allowed:
                    raise ValidationFailed(f"unknown limit {name!r}")
                if value is not None and value < 0:
                    raise ValidationFailed(f"{name} must not be negative")
                setattr(row, name, value)
        return row

    # -- keys -----------------------------------------------------------------------------------
    def create_key(
        self,
        tenant: str,
        role: str,
        *,
        name: str = "",
        expires_at: dt.datetime | None = None,
    ) -> IssuedKey:
        if role not in ROLE_SCOPES:
            raise ValidationFailed(f"role must be one of {list(ROLES)}")
        prefix = secrets.token_hex(4)
        key = f"wp_{prefix}_{secrets.token_urlsafe(32)}"
        key_id = str(uuid.uuid4())
        with self.sessions() as session, session.begin():
            if session.get(Tenant, tenant) is None:
                raise NotFound(
                    f"tenant {tenant} not found; create it with `waypost tenants create`"
                )
            session.add(
                ApiKey(
                    key_id=key_id,
                    tenant=tenant,
                    role=role,
                    prefix=prefix,
                    key_hash=hash_key(key),
                    name=name,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
            )
        with self._lock:
            self._any_key = (True, time.monotonic() + 3600)
        return IssuedKey(key, key_id, tenant, role, prefix, expires_at)

    def keys(self, tenant: str | None = None) -> list[ApiKey]:
        with self.sessions() as session:
            query = select(ApiKey).order_by(ApiKey.created_at)
            if tenant:
                query = query.where(ApiKey.tenant == tenant)
            return list(session.scalars(query))

    def revoke(self, key_id_or_prefix: str) -> ApiKey:
        with self.sessions() as session, session.begin():
            row = (
                session.get(ApiKey, key_id_or_prefix)
                or session.scalars(select(ApiKey).where(ApiKey.prefix == key_id_or_prefix)).first()
            )
            if row is None:
                raise NotFound(f"key {key_id_or_prefix} not found")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
        with self._lock:
            self._cache.clear()
        return row

    def any_key(self) -> bool:
        """Whether any key was ever created (then every request needs a credential)."""
        known, until = self._any_key
        if known or time.monotonic() < until:
            return known
        with self.sessions() as session:
            found = session.scalars(select(ApiKey.key_id).limit(1)).first() is not None
        with self._lock:
            self._any_key = (found, time.monotonic() + (3600 if found else self.cache_s))
        return found

    def verify(self, key: str) -> Principal | None:
        """The principal a key stands for, or None (unknown, malformed, revoked, expired)."""
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now < cached.until:
            return cached.principal
        principal = self._lookup(key)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = _Cached(principal, now + self.cache_s)
        return principal

    def principal_for_key_id(self, key_id: str) -> Principal | None:
        """The principal of a still-active key, by id (a console session names its key, so a
        revoked or expired key ends its sessions within ``cache_s``)."""
        now = time.monotonic()
        cache_key = f"id:{key_id}"
        cached = self._cache.get(cache_key)
        if cached is not None and now < cached.until:
            return cached.principal
        with self.sessions() as session:
            row = session.get(ApiKey, key_id)
            principal = _principal_of(row) if row is not None and row.status == "active" else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[cache_key] = _Cached(principal, now + self.cache_s)
        return principal

    def _lookup(self, key: str) -> Principal | None:
        match = _KEY.match(key)
        if match is None:
            return None
        with self.sessions() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == match.group(1))).first()
            if row is None or not hmac.compare_digest(row.key_hash, hash_key(key)):
                return None
            if row.status != "active":
                return None
            return _principal_of(row)


def _principal_of(row: ApiKey) -> Principal:
    return Principal(
        tenant=row.tenant,
        role=row.role,
        identity=f"key:{row.name or row.prefix}",
        kind="key",
        key_id=row.key_id,
        display_name=row.name or None,
    )


def filter_matches(metadata: Mapping[str, Any] | None, flt: Mapping[str, Any] | None) -> bool:
    """Whether ``metadata`` passes an ``@auth.on`` filter (``$eq``, ``$contains``, ``$or``,
    ``$and``)."""
    if not flt:
        return True
    meta = metadata or {}
    for key, want in flt.items():
        if key == "$or":
            if not any(filter_matches(meta, f) for f in want):
                return False
            continue
        if key == "$and":
            if not all(filter_matches(meta, f) for f in want):
                return False
            continue
        if key not in meta:
            return False
        have = meta[key]
        if isinstance(want, dict) and want:
            op, operand = next(iter(want.items()))
            if op == "$eq":
                if have != operand:
                    return False
            elif op == "$contains":
                if not isinstance(have, list):
                    return False
                needed = operand if isinstance(operand, list) else [operand]
                if not all(x in have for x in needed):
                    return False
            elif have != want:
                return False
        elif have != want:
            return False
    return True
