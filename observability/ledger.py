"""The usage ledger: one row per LLM call and per tool call, with tokens, USD, latency, outcome.

The ledger is the source of truth for cost accounting, quotas, ``/metrics`` and
``waypost runs show``; Langfuse gets the same figures but is optional and may be down.
``UsageCollector`` (``observability/usage.py``) produces ``LedgerEvent``s; a
``LedgerWriter`` bound to one run turns them into rows, and adds each to the daily roll-up
(``observability/rollup.py``) in the same transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from waypost.observability.rollup import add_to_rollup
from waypost.runtime.db import Base
from waypost.runtime.models import utcnow

__all__ = [
    "CallPricer",
    "LedgerEntry",
    "LedgerEvent",
    "LedgerSink",
    "LedgerWriter",
    "PricedCall",
    "RunContext",
    "RunTotals",
    "run_entries",
    "run_totals",
]

_log = logging.getLogger(__name__)

Kind = Literal["llm", "tool"]
Status = Literal["ok", "error"]


class LedgerEntry(Base):
    """A row of ``usage_ledger`` (migration 0004). ``name`` is the model or the tool name."""

    __tablename__ = "usage_ledger"
    __table_args__ = (
        Index("ix_usage_ledger_run_id", "run_id"),
        Index("ix_usage_ledger_tenant_created_at", "tenant", "created_at"),
        Index("ix_usage_ledger_thread_id", "thread_id"),  # 0010
        Index("ix_usage_ledger_created_at", "created_at"),  # 0011
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    run_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # Langfuse, if on
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    workflow: Mapped[str] = mapped_column(String(128), default="")
    node: Mapped[str] = mapped_column(String(128), default="")
    name: Mapped[str] = mapped_column(String(128))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    usd: Mapped[float] = mapped_column(Float, default=0.0)
    price_known: Mapped[bool] = mapped_column(Boolean, default=True)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(8), default="ok")
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class LedgerEvent:
    """One LLM or tool call as a callback saw it, before it is tied to a run."""

    kind: Kind
    name: str
    node: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    price_known: bool = True
    latency_ms: float = 0.0
    status: Status = "ok"
    error_code: str | None = None


@dataclass(frozen=True)
class PricedCall:
    """A priced LLM call: what Langfuse's generation and the ledger row must agree on."""

    model: str
    input_tokens: int
    output_tokens: int
    input_usd: float
    output_usd: float
    price_known: bool

    @property
    def usd(self) -> float:
        return self.input_usd + self.output_usd


class CallPricer(Protocol):
    """Prices an LLM call from its callback data (``UsageCollector`` implements it)."""

    def price_call(
        self, serialized: dict[str, Any] | None, metadata: dict[str, Any] | None, response: Any
    ) -> PricedCall: ...


class LedgerSink(Protocol):
    """Where callbacks send their events (a ``LedgerWriter``, or a list in tests)."""

    def record(self, event: LedgerEvent) -> None: ...


@dataclass(frozen=True)
class RunContext:
    """Who a run's rows belong to."""

    run_id: str
    thread_id: str | None = None
    tenant: str = "default"
    workflow: str = ""
    trace_id: str | None = None


@dataclass
class LedgerWriter:
    """Writes each event as a row at once (a crash keeps what was spent) and tells observers.

    A failing write is logged, never raised: accounting must not break a customer's run.
    ``observers`` receive ``(context, event)`` after the write, e.g. the Prometheus metrics.
    """

    session_factory: sessionmaker[Session] | None
    context: RunContext
    observers: Sequence[Callable[[RunContext, LedgerEvent], None]] = ()
    events: list[LedgerEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, event: LedgerEvent) -> None:
        with self._lock:
            self.events.append(event)
        if self.session_factory is not None:
            try:
                with self.session_factory() as session:
                    row = self._row(event)
                    session.add(row)
                    add_to_rollup(session, [row])  # same transaction: counted once or not at all
                    session.commit()
            except Exception:
                _log.exception("usage ledger write failed for run %s", self.context.run_id)
        for observe in self.observers:
            try:
                observe(self.context, event)
            except Exception:
                _log.exception("usage ledger observer failed")

    def _row(self, event: LedgerEvent) -> LedgerEntry:
        ctx = self.context
        return LedgerEntry(
            kind=event.kind,
            run_id=ctx.run_id,
            thread_id=ctx.thread_id,
            trace_id=ctx.trace_id,
            tenant=ctx.tenant,
            workflow=ctx.workflow,
            node=event.node[:128],
            name=event.name[:128],
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            usd=event.usd,
            price_known=event.price_known,
            latency_ms=event.latency_ms,
            status=event.status,
            error_code=event.error_code,
            created_at=utcnow(),
        )


@dataclass(frozen=True)
class RunTotals:
    """Sums over a run's ledger rows (what the run record and the CLI show)."""

    llm_calls: int = 0
    tool_calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    all_priced: bool = True
    llm_latency_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def run_totals(session: Session, run_id: str) -> RunTotals:
    """Token, USD and call totals of one run, from its ledger rows (one SQL aggregate)."""
    is_llm = LedgerEntry.kind == "llm"
    stmt = select(
        func.count().filter(is_llm),
        func.count().filter(LedgerEntry.kind == "tool"),
        func.count().filter(LedgerEntry.status == "error"),
        func.coalesce(func.sum(LedgerEntry.input_tokens), 0),
        func.coalesce(func.sum(LedgerEntry.output_tokens), 0),
        func.coalesce(func.sum(LedgerEntry.usd), 0.0),
        func.count().filter(is_llm, LedgerEntry.price_known.is_(False)),
        func.coalesce(func.sum(LedgerEntry.latency_ms).filter(is_llm), 0.0),
    ).where(LedgerEntry.run_id == run_id)
    llm, tool, errors, tin, tout, usd, unpriced, latency = session.execute(stmt).one()
    return RunTotals(
        llm_calls=int(llm),
        tool_calls=int(tool),
        errors=int(errors),
        input_tokens=int(tin),
        output_tokens=int(tout),
        usd=float(usd),
        all_priced=int(unpriced) == 0,
        llm_latency_ms=float(latency),
    )


def run_entries(session: Session, run_id: str) -> list[LedgerEntry]:
    """A run's rows in the order they were written (the step timeline)."""
    stmt = select(LedgerEntry).where(LedgerEntry.run_id == run_id).order_by(LedgerEntry.id)
    return list(session.scalars(stmt))
