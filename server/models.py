"""ORM view of the run tables (migration ``0003_runs``): threads, runs, run events, approvals.

Status vocabularies follow the LangGraph API so the official SDK reads them unchanged: a thread is
``idle | busy | interrupted | error``; a run is ``pending | running | success | error |
interrupted | timeout`` (a run that stops at an ``interrupt()`` ends ``success`` and leaves its
thread ``interrupted``, as the LangGraph server does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from waypost.runtime.db import Base
from waypost.runtime.models import utcnow

__all__ = [
    "RUNS",
    "RUN_EVENTS",
    "THREADS",
    "Approval",
    "ApprovalStatus",
    "Run",
    "RunEvent",
    "RunStatus",
    "Thread",
    "ThreadStatus",
]

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "success", "error", "interrupted", "timeout"]
ApprovalStatus = Literal["pending", "approved", "rejected", "edited", "superseded"]


class Thread(Base):
    """A conversation: its checkpoints live in the checkpointer, this row is its index card."""

    __tablename__ = "threads"

    thread_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    status: Mapped[str] = mapped_column(String(16), default="idle")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    values: Mapped[Any] = mapped_column(JSON, nullable=True)
    interrupts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Run(Base):
    """One execution request on a thread; the queue's unit of work."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("threads.thread_id", ondelete="CASCADE")
    )
    assistant_id: Mapped[str] = mapped_column(String(64))
    graph_id: Mapped[str] = mapped_column(String(128))
    assistant_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0008
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    input: Mapped[Any] = mapped_column(JSON, nullable=True)
    command: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    multitask_strategy: Mapped[str] = mapped_column(String(16), default="reject")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_requested: Mapped[str | None] = mapped_column(String(16), nullable=True)
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    usd: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RunEvent(Base):
    """One SSE event of a run, kept so clients can join late or resume with Last-Event-ID."""

    __tablename__ = "run_events"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("runs.run_id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(128))
    data: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Approval(Base):
    """A pending consequential action (an ``interrupt()`` value) awaiting a human decision."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("threads.thread_id", ondelete="CASCADE")
    )
    tenant: Mapped[str] = mapped_column(String(64), default="default")
    workflow: Mapped[str] = mapped_column(String(128))
    interrupt_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payload: Mapped[Any] = mapped_column(JSON, nullable=True)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resume_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The plain tables, for hot-path statements that need no ORM identity bookkeeping (a Core
# INSERT/UPDATE skips the unit of work and the ORM's bulk-statement machinery).
RUNS = cast(Table, Run.__table__)
THREADS = cast(Table, Thread.__table__)
RUN_EVENTS = cast(Table, RunEvent.__table__)
