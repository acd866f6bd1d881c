"""Token and USD quotas per tenant, per day and per calendar month (UTC), checked before every
model call.

Before a call, ``QuotaGuard`` reserves the call's most it can cost (its prompt as tokens plus
its ``max_tokens`` of output, priced) against the tenant's ledger so far plus every call still
in flight, in one locked transaction; after the call the reservation is released and the ledger
row written by the run's ``UsageCollector`` counts instead. So a tenant never goes over by more
than one call's estimate error, whatever the number of workers. A call that would exceed a quota
raises ``QuotaExceeded`` before anything is sent to the model: the run stops at its last
checkpoint with status ``quota_exceeded`` and resumes when the quota is raised.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker
from waypost.observability.ledger import LedgerEntry
from waypost.observability.pricing import price_usd
from waypost.observability.usage import ModelCallsOnly, model_name_from_metadata
from waypost.runtime.errors import QuotaExceeded
from waypost.runtime.models import utcnow
from waypost.runtime.settings import ModelPrice

__all__ = ["QuotaBook", "QuotaGuard", "QuotaLimits", "QuotaUsage", "period_starts"]

_CHARS_PER_TOKEN = 3  # a conservative estimate of a prompt's tokens before it is sent
_DEFAULT_MAX_OUTPUT = 1024
_RESERVATION_S = 600  # a reservation outlives any call; a crashed worker's expires


@dataclass(frozen=True)
class QuotaLimits:
    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    usd_per_day: float | None = None
    usd_per_month: float | None = None

    @property
    def any(self) -> bool:
        return any(
            v is not None
            for v in (
                self.tokens_per_day,
                self.tokens_per_month,
                self.usd_per_day,
                self.usd_per_month,
            )
        )


@dataclass(frozen=True)
class QuotaUsage:
    """What a tenant spent (ledger) and holds in flight (reservations), per period."""

    tokens_day: int = 0
    tokens_month: int = 0
    usd_day: float = 0.0
    usd_month: float = 0.0

    def against(self, limits: QuotaLimits) -> dict[str, dict[str, float | None]]:
        """``{"tokens_per_day": {"used": ..., "limit": ...}, ...}`` for API answers."""
        return {
            "tokens_per_day": {"used": self.tokens_day, "limit": limits.tokens_per_day},
            "tokens_per_month": {"used": self.tokens_month, "limit": limits.tokens_per_month},
            "usd_per_day": {"used": round(self.usd_day, 6), "limit": limits.usd_per_day},
            "usd_per_month": {"used": round(self.usd_month, 6), "limit": limits.usd_per_month},
        }


def period_starts(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    day = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


@dataclass
class QuotaBook:
    """The ledger and the reservations of every tenant, in the app database."""

    sessions: sessionmaker[Session]

    def usage(self, session: Session, tenant: str, *, with_reserved: bool = True) -> QuotaUsage:
        now = utcnow()
        day, month = period_starts(now)
        tokens = LedgerEntry.input_tokens + LedgerEntry.output_tokens
        row = session.execute(
            select(
                func.coalesce(func.sum(tokens).filter(LedgerEntry.created_at >= day), 0),
                func.coalesce(func.sum(tokens), 0),
                func.coalesce(func.sum(LedgerEntry.usd).filter(LedgerEntry.created_at >= day), 0.0),
                func.coalesce(func.sum(LedgerEntry.usd), 0.0),
            ).where(LedgerEntry.tenant == tenant, LedgerEntry.created_at >= month)
        ).one()
        usage = QuotaUsage(int(row[0]), int(row[1]), float(row[2]), float(row[3]))
        if not with_reserved:
            return usage
        held = session.execute(
            text(
                "SELECT COALESCE(SUM(tokens), 0), COALESCE(SUM(usd), 0) FROM quota_reservations "
                "WHERE tenant = :tenant AND expires_at > :now"
            ),
            {"tenant": tenant, "now": now},
        ).one()
        return QuotaUsage(
            usage.tokens_day + int(held[0]),
            usage.tokens_month + int(held[0]),
            usage.usd_day + float(held[1]),
            usage.usd_month + float(held[1]),
        )

    def current(self, tenant: str) -> QuotaUsage:
        with self.sessions() as session:
            return self.usage(session, tenant, with_reserved=False)

    def check(self, tenant: str, limits: QuotaLimits) -> None:
        """``QuotaExceeded`` if the tenant has already reached a quota (before a run starts)."""
        if not limits.any:
            return
        with self.sessions() as session:
            # reached (not only passed): a run that cannot make one call does not start
            _refuse_if_over(self.usage(session, tenant), limits, 1, 1e-9, tenant)

    def reserve(self, tenant: str, limits: QuotaLimits, tokens: int, usd: float) -> str:
        """Hold ``tokens``/``usd`` for one call, or ``QuotaExceeded``; returns the hold's id."""
        reservation = str(uuid.uuid4())
        now = utcnow()
        with self.sessions() as session, session.begin():
            # One writer per tenant at a time: a row lock on PostgreSQL, the database's write
            # lock on SQLite. Without it two workers could both take the last of a budget.
            session.execute(
                text("UPDATE tenants SET name = name WHERE tenant = :tenant"), {"tenant": tenant}
            )
            session.execute(
                text("DELETE FROM quota_reservations WHERE expires_at <= :now"), {"now": now}
            )
            _refuse_if_over(self.usage(session, tenant), limits, tokens, usd, tenant)
            session.execute(
                text(
                    "INSERT INTO quota_reservations (reservation_id, tenant, tokens, usd, "
                    "expires_at) VALUES (:id, :tenant, :tokens, :usd, :expires)"
                ),
                {
                    "id": reservation,
                    "tenant": tenant,
                    "tokens": tokens,
                    "usd": usd,
                    "expires": now + dt.timedelta(seconds=_RESERVATION_S),
                },
            )
        return reservation

    def release(self, reservation: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(
                text("DELETE FROM quota_reservations WHERE reservation_id = :id"),
                {"id": reservation},
            )


def _refuse_if_over(
    usage: QuotaUsage, limits: QuotaLimits, tokens: int, usd: float, tenant: str
) -> None:
    checks = (
        ("tokens_per_day", usage.tokens_day + tokens, limits.tokens_per_day),
        ("tokens_per_month", usage.tokens_month + tokens, limits.tokens_per_month),
        ("usd_per_day", usage.usd_day + usd, limits.usd_per_day),
        ("usd_per_month", usage.usd_month + usd, limits.usd_per_month),
    )
    for name, needed, limit in checks:
        if limit is not None and needed > limit:
            raise QuotaExceeded(
                f"tenant {tenant} has reached its {name.replace('_', ' ')} quota ({limit:g}); "
                "raise it with `waypost tenants set-quota` and resume the run",
                details={"tenant": tenant, "quota": name, "limit": limit, "needed": needed},
            )


class QuotaGuard(ModelCallsOnly):
    """Reserves each model call against the tenant's quotas before it is sent."""

    raise_error = True  # a refused reservation must stop the call, not be logged

    def __init__(
        self,
        book: QuotaBook,
        tenant: str,
        limits: QuotaLimits,
        *,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self.book = book
        self.tenant = tenant
        self.limits = limits
        self.prices = dict(prices or {})
        self._held: dict[UUID, str] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        chars = sum(len(str(m.content)) for batch in messages for m in batch)
        self._reserve(serialized, run_id, metadata, invocation_params, chars)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        invocation_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._reserve(serialized, run_id, metadata, invocation_params, sum(map(len, prompts)))

    def _reserve(
        self,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        metadata: dict[str, Any] | None,
        params: dict[str, Any] | None,
        chars: int,
    ) -> None:
        model = model_name_from_metadata(metadata, str((serialized or {}).get("name") or ""))
        out = int((params or {}).get("max_tokens") or _DEFAULT_MAX_OUTPUT)
        inp = chars // _CHARS_PER_TOKEN + 1
        usd = price_usd(model, inp, out, self.prices).usd
        held = self.book.reserve(self.tenant, self.limits, inp + out, usd)
        with self._lock:
            self._held[run_id] = held

    def _release(self, run_id: UUID) -> None:
        with self._lock:
            held = self._held.pop(run_id, None)
        if held is not None:
            self.book.release(held)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._release(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._release(run_id)
