"""Keeps the daily usage roll-up (``runtime.usage_rollup``, migration 0011) current.

``LedgerWriter`` calls ``add_to_rollup`` in the transaction that inserts the ledger row: two
upserts (three for a failed call) that add the row to its day's sums and latency bin. They are
``INSERT .. ON CONFLICT DO UPDATE SET calls = calls + excluded.calls`` statements on SQLite and
PostgreSQL alike, so concurrent writers never lose an increment, and the roll-up commits or
rolls back with the row it counts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from waypost.runtime.db import Base
from waypost.runtime.usage_rollup import aggregate

__all__ = ["UsageRollup", "UsageRollupErrors", "UsageRollupLatency", "add_to_rollup"]


class UsageRollup(Base):
    """Per (tenant, UTC day, kind, workflow, node, name): the sums of its ledger rows."""

    __tablename__ = "usage_rollup"
    __table_args__ = ({"sqlite_with_rowid": False},)

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(128), primary_key=True)
    node: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    unpriced: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)  # the sum, for exact means


class UsageRollupLatency(Base):
    """Per (tenant, day, workflow, node): calls per log-scale latency bin (``latency_bin``)."""

    __tablename__ = "usage_rollup_latency"
    __table_args__ = (
        Index(
            "ix_usage_rollup_latency_day_workflow_node_bin_calls",
            "day",
            "workflow",
            "node",
            "bin",
            "calls",
        ),
        {"sqlite_with_rowid": False},
    )

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(128), primary_key=True)
    node: Mapped[str] = mapped_column(String(128), primary_key=True)
    bin: Mapped[int] = mapped_column(Integer, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class UsageRollupErrors(Base):
    """Per (tenant, day, error code): failed calls (``unknown`` when the row has no code)."""

    __tablename__ = "usage_rollup_errors"
    __table_args__ = ({"sqlite_with_rowid": False},)

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)


_SUMMED = {
    UsageRollup: (
        "calls",
        "errors",
        "unpriced",
        "input_tokens",
        "output_tokens",
        "usd",
        "latency_ms",
    ),
    UsageRollupLatency: ("calls",),
    UsageRollupErrors: ("calls",),
}


_STATEMENTS: dict[tuple[str, Any], Any] = {}  # built once per dialect and table


def _upsert_statement(dialect: str, model: Any) -> Any:
    """``INSERT .. ON CONFLICT (primary key) DO UPDATE SET n = n + excluded.n`` for each sum."""
    found = _STATEMENTS.get((dialect, model))
    if found is None:
        table = model.__table__
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        found = stmt.on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={name: table.c[name] + stmt.excluded[name] for name in _SUMMED[model]},
        )
        _STATEMENTS[(dialect, model)] = found
    return found


def add_to_rollup(session: Session, rows: list[Any]) -> None:
    """Add ledger rows (``LedgerEntry`` objects with ``created_at`` set) to the roll-up, in
    the session's transaction."""
    dialect = session.get_bind().dialect.name
    for model, values in zip(_SUMMED, aggregate(rows), strict=True):
        if values:  # a Core statement on the session's connection: no ORM bulk machinery
            session.connection().execute(
                _upsert_statement(dialect, model), values if len(values) > 1 else values[0]
            )
