"""SQLAlchemy models of Waypost's own tables (domain stores define theirs in their package).

Migrations in ``runtime/migrations/versions`` are written out explicitly, so this module is the
ORM view of them, not their source.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from waypost.runtime.db import Base

__all__ = ["ToolInvocation", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ToolInvocation(Base):
    """The recorded outcome of one side-effecting tool call, keyed by (run id, tool call id).

    A replayed step (a resumed run, a retried worker) finds its record here and returns the
    recorded result instead of acting twice.
    """

    __tablename__ = "tool_invocations"
    __table_args__ = (UniqueConstraint("run_id", "tool_call_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(200))  # the idempotency scope
    tool_call_id: Mapped[str] = mapped_column(String(128))
    tool_name: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
