"""Scorecards in the database (table ``eval_scorecards``, migration 0005): eval scores over time.

The ORM model lives here, not in ``runtime``: runtime never imports evals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from waypost.evals.scorecard import Scorecard
from waypost.runtime.db import Base, session_scope

__all__ = ["EvalScorecardRow", "latest_scorecards", "save_scorecard"]


class EvalScorecardRow(Base):
    """One eval run's scorecard."""

    __tablename__ = "eval_scorecards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow: Mapped[str] = mapped_column(String(128))
    dataset: Mapped[str] = mapped_column(String(512))
    model: Mapped[str] = mapped_column(String(128))
    approvals: Mapped[str] = mapped_column(String(16))
    assistant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # 0008
    assistant_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tenant: Mapped[str] = mapped_column(String(64), default="default")  # 0009
    n_cases: Mapped[int] = mapped_column(Integer)
    passed: Mapped[int] = mapped_column(Integer)
    pass_rate: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    wall_s: Mapped[float] = mapped_column(Float, default=0.0)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    failures: Mapped[dict[str, Any]] = mapped_column(JSON)
    cases: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def save_scorecard(
    session_factory: sessionmaker[Session], card: Scorecard, *, tenant: str = "default"
) -> int:
    """Store ``card`` as ``tenant``'s; returns the row id."""
    row = EvalScorecardRow(
        tenant=tenant,
        workflow=card.workflow,
        dataset=card.dataset,
        model=card.model[:128],  # a routing label; the full table is in the JSON scorecard
        approvals=card.approvals,
        assistant_id=card.assistant_id,
        assistant_version=card.assistant_version,
        n_cases=card.n,
        passed=card.passed,
        pass_rate=card.pass_rate,
        ci_low=card.ci95[0],
        ci_high=card.ci95[1],
        wall_s=card.wall_s,
        metrics=card.metrics,
        failures=card.failures_by_cause,
        cases=[
            {
                "id": c.id,
                "passed": c.passed,
                "cause": c.cause,
                "latency_s": c.latency_s,
                "cost_usd": c.cost_usd,
            }
            for c in card.cases
        ],
        created_at=card.created_at,
    )
    with session_scope(session_factory) as session:
        session.add(row)
        session.flush()
        return row.id


def latest_scorecards(
    session_factory: sessionmaker[Session],
    workflow: str,
    limit: int = 20,
    *,
    tenant: str = "default",
) -> list[EvalScorecardRow]:
    """``tenant``'s most recent scorecards of ``workflow``, newest first."""
    with session_factory() as session:
        rows = session.scalars(
            select(EvalScorecardRow)
            .where(EvalScorecardRow.workflow == workflow, EvalScorecardRow.tenant == tenant)
            .order_by(EvalScorecardRow.created_at.desc())
            .limit(limit)
        )
        return list(rows)
