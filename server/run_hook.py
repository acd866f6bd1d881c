"""Per-run observability for API runs: Langfuse trace, usage ledger, Prometheus metrics.

The executor calls the hook around every execution of a run (first run and each resume). The
trace key is the thread id, so a run and its resumes after approvals share one trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from waypost.observability.ledger import LedgerWriter, RunContext
from waypost.observability.metrics import default_metrics
from waypost.observability.tracing import ApprovalDecision, resolve_config, trace_id_for, trace_run
from waypost.observability.usage import UsageCollector
from waypost.runtime.settings import Settings
from waypost.server.executor import RunHook, UsageFactory
from waypost.server.models import Approval, Run

__all__ = ["make_run_hook", "make_usage_factory", "trace_url_for"]


def trace_url_for(settings: Settings, thread_id: str) -> str | None:
    """The Langfuse link of a thread's trace, or None when tracing is off."""
    base = settings.langfuse.base_url
    if not settings.langfuse.enabled or not base:
        return None
    return f"{base.rstrip('/')}/trace/{trace_id_for(thread_id)}"


def _decision_for(session_factory: sessionmaker[Session], run: Run) -> ApprovalDecision | None:
    """The approval this run resumes from (who decided what, when), for the trace."""
    if not run.command:
        return None
    with session_factory() as session:
        row = session.scalars(select(Approval).where(Approval.resume_run_id == run.run_id)).first()
    if row is None or row.decision is None:
        return None
    return ApprovalDecision(
        decision=str(row.decision.get("decision", row.status)),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        requested_at=row.created_at,
        action=row.payload,
        comment=row.decision.get("comment"),
    )


def make_usage_factory(settings: Settings, session_factory: sessionmaker[Session]) -> UsageFactory:
    """Each run's one ``UsageCollector``: ledger rows as calls happen, totals for the run row."""
    metrics = default_metrics()

    def usage_for(run: Run) -> UsageCollector:
        context = RunContext(
            run_id=run.run_id,
            thread_id=run.thread_id,
            tenant=run.tenant,
            workflow=run.graph_id,
            trace_id=trace_id_for(run.thread_id),
        )
        writer = LedgerWriter(session_factory, context, observers=[metrics.observe_ledger])
        return UsageCollector(sink=writer, prices=settings.models.prices)

    return usage_for


def make_run_hook(settings: Settings, session_factory: sessionmaker[Session]) -> RunHook:
    metrics = default_metrics()
    tracing_on = resolve_config(settings.langfuse) is not None

    @contextmanager
    def hook(run: Run, config: dict[str, Any], usage: UsageCollector) -> Iterator[dict[str, Any]]:
        with trace_run(
            settings,
            run_key=run.thread_id,
            thread_id=run.thread_id,
            workflow=run.graph_id,
            user_id=run.tenant,
            run_id=run.run_id,
            assistant=run.assistant_id,
            pricer=usage,  # the executor put it in the callbacks already
            assistant_version=run.assistant_version,
            metrics=metrics,
            # only a trace shows it: no query when Langfuse is off
            approval=_decision_for(session_factory, run) if tracing_on else None,
        ) as tracing:
            yield tracing.config(config)

    return hook
