"""Per-run observability for API runs: Langfuse trace, usage ledger, Prometheus metrics.

The executor calls the hook around every execution of a run (first run and each resume). The
trace key is the thread id, so a run and its resumes after approvals share one trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agents.ledger import LedgerCollector
from runtime.ledger import LedgerWriter, RunContext
from runtime.metrics import default_metrics
from runtime.runs.executor import RunHook
from runtime.runs.models import Run
from runtime.settings import Settings
from runtime.tracing import trace_id_for, trace_run

__all__ = ["make_run_hook", "trace_url_for"]


def trace_url_for(settings: Settings, thread_id: str) -> str | None:
    """The Langfuse link of a thread's trace, or None when tracing is off."""
    base = settings.langfuse.base_url
    if not settings.langfuse.enabled or not base:
        return None
    return f"{base.rstrip('/')}/trace/{trace_id_for(thread_id)}"


def make_run_hook(settings: Settings, session_factory: sessionmaker[Session]) -> RunHook:
    metrics = default_metrics()

    @contextmanager
    def hook(run: Run, config: dict[str, Any]) -> Iterator[dict[str, Any]]:
        context = RunContext(
            run_id=run.run_id,
            thread_id=run.thread_id,
            tenant=run.tenant,
            workflow=run.graph_id,
            trace_id=trace_id_for(run.thread_id),
        )
        writer = LedgerWriter(session_factory, context, observers=[metrics.observe_ledger])
        collector = LedgerCollector(writer, prices=settings.models.prices)
        with trace_run(
            settings,
            run_key=run.thread_id,
            thread_id=run.thread_id,
            workflow=run.graph_id,
            user_id=run.tenant,
            run_id=run.run_id,
            assistant=run.assistant_id,
            ledger=collector,
            metrics=metrics,
        ) as tracing:
            yield tracing.config(config)

    return hook
