"""``trace_run``: everything one workflow invocation needs for tracing, ledger and metrics.

    with trace_run(settings, run_key=run_id, thread_id=tid, workflow="retail_support",
                   user_id=caller, ledger=collector, metrics=metrics) as tracing:
        graph.invoke(payload, tracing.config({"configurable": {"thread_id": tid}}))
    tracing.trace_url   # "{base_url}/trace/{trace_id}", None when Langfuse is off

The trace id is derived from ``run_key`` (``Langfuse.create_trace_id(seed=run_key)``), so the
first invocation and every resume after an approval land in the same trace as long as they
pass the same key. Each ``trace_run`` makes its own ``CallbackHandler`` (handlers keep per-run
state and are never shared). Trace attributes travel the way the SDK's handler reads them:
``langfuse_session_id`` / ``langfuse_user_id`` / ``langfuse_trace_name`` / ``langfuse_tags`` in
the root config's metadata; the rest of that metadata becomes trace metadata.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langfuse import Langfuse, propagate_attributes
from waypost.observability.ledger import CallPricer
from waypost.observability.metrics import WaypostMetrics
from waypost.observability.tracing._client import TracingClient, get_tracing_client, resolve_config
from waypost.observability.tracing._handler import PricedCallbackHandler
from waypost.observability.tracing.steps import StepTimer
from waypost.runtime.settings import Settings

__all__ = ["ApprovalDecision", "RunTracing", "trace_id_for", "trace_run"]

_log = logging.getLogger(__name__)


def trace_id_for(run_key: str) -> str:
    """The Langfuse trace id of a run key (32 hex chars, stable across processes)."""
    return Langfuse.create_trace_id(seed=run_key)


@dataclass(frozen=True)
class ApprovalDecision:
    """A reviewer's answer to an interrupt, shown in the trace when the run resumes."""

    decision: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    requested_at: datetime | None = None
    action: Any = None  # the interrupt payload the reviewer saw
    comment: str | None = None

    def metadata(self) -> dict[str, Any]:
        waited = (
            (self.decided_at - self.requested_at).total_seconds()
            if self.decided_at and self.requested_at
            else None
        )
        return {
            "decision": self.decision,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "requested_at": self.requested_at.isoformat() if self.requested_at else None,
            "waited_s": waited,
        }


@dataclass
class RunTracing:
    """The handles of one traced invocation; ``callbacks`` and ``metadata`` go in its config."""

    workflow: str
    trace_id: str | None = None
    trace_url: str | None = None
    callbacks: list[BaseCallbackHandler] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "success"
    _client: TracingClient | None = None
    _trace_attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def config(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """``base`` (a RunnableConfig) with our callbacks and trace metadata added."""
        config = dict(base or {})
        callbacks = config.get("callbacks") or []
        if not isinstance(callbacks, list):
            raise TypeError("trace_run can only extend a list of callbacks")
        config["callbacks"] = [*callbacks, *self.callbacks]
        config["metadata"] = {**(config.get("metadata") or {}), **self.metadata}
        return config

    def approval_requested(self, payload: Any) -> None:
        """The run stopped at an interrupt: mark it and show what awaits a decision."""
        self.status = "interrupted"
        self._event("approval requested", input=payload, metadata={"status": "pending"})

    def approval_decided(self, decision: ApprovalDecision) -> None:
        """Who decided what, when, and how long the action waited."""
        self._event(
            f"approval {decision.decision}",
            input=decision.action,
            output={"decision": decision.decision, "comment": decision.comment},
            metadata=decision.metadata(),
        )

    def flush(self, timeout_s: float | None = None) -> bool:
        """Export what is queued now, waiting at most ``timeout_s`` (default: settings)."""
        return self._client.flush(timeout_s) if self._client is not None else True

    def _event(self, name: str, **fields: Any) -> None:
        if self._client is None or self.trace_id is None:
            return
        try:
            with propagate_attributes(**self._trace_attrs):
                self._client.langfuse.create_event(
                    trace_context={"trace_id": self.trace_id}, name=name, **fields
                )
        except Exception:  # tracing never breaks a run
            _log.exception("could not record Langfuse event %r", name)


@contextmanager
def trace_run(
    settings: Settings,
    *,
    run_key: str,
    thread_id: str,
    workflow: str,
    user_id: str | None = None,
    run_id: str | None = None,
    assistant: str | None = None,
    assistant_version: int | None = None,
    version: str | None = None,
    model: str | None = None,
    tags: Sequence[str] = (),
    ledger: BaseCallbackHandler | None = None,
    pricer: CallPricer | None = None,
    metrics: WaypostMetrics | None = None,
    approval: ApprovalDecision | None = None,
) -> Iterator[RunTracing]:
    """Open tracing for one invocation (first run or resume) of ``workflow``.

    ``ledger`` (a ``UsageCollector`` with a ledger sink) is added to the callbacks and, if it
    can ``price_call``, prices the Langfuse generations. ``approval`` is recorded in the trace
    before a resume. Exceptions propagate unchanged; Langfuse problems are only logged.
    """
    tracing = RunTracing(workflow=workflow)
    if ledger is not None:
        tracing.callbacks.append(ledger)
        if pricer is None and callable(getattr(ledger, "price_call", None)):
            pricer = ledger  # type: ignore[assignment]
    if metrics is not None:
        tracing.callbacks.append(StepTimer(metrics, workflow))
    config = resolve_config(settings.langfuse)
    if config is not None:
        try:
            _attach_langfuse(
                tracing,
                config_client=get_tracing_client(config),
                run_key=run_key,
                thread_id=thread_id,
                user_id=user_id,
                run_id=run_id,
                assistant=assistant,
                assistant_version=assistant_version,
                version=version,
                tags=[workflow, model or settings.models.default, config.environment, *tags],
                pricer=pricer,
            )
        except Exception:
            _log.exception("Langfuse tracing is unavailable for run %s", run_key)
    if approval is not None:
        tracing.approval_decided(approval)
    if metrics is not None:
        metrics.run_started(workflow)
    started = time.perf_counter()
    try:
        yield tracing
    except BaseException:
        tracing.status = "error"
        raise
    finally:
        if metrics is not None:
            metrics.run_finished(workflow, tracing.status, time.perf_counter() - started)


def _attach_langfuse(
    tracing: RunTracing,
    *,
    config_client: TracingClient,
    run_key: str,
    thread_id: str,
    user_id: str | None,
    run_id: str | None,
    assistant: str | None,
    assistant_version: int | None,
    version: str | None,
    tags: list[str],
    pricer: CallPricer | None,
) -> None:
    trace_id = trace_id_for(run_key)
    tags = list(dict.fromkeys(t for t in tags if t))
    handler = PricedCallbackHandler(
        public_key=config_client.config.public_key,
        trace_context={"trace_id": trace_id},
        pricer=pricer,
    )
    tracing._client = config_client
    tracing.trace_id = trace_id
    tracing.trace_url = f"{config_client.config.base_url}/trace/{trace_id}"
    tracing.callbacks.append(handler)
    tracing.metadata = {
        "langfuse_session_id": thread_id,
        "langfuse_trace_name": tracing.workflow,
        "langfuse_tags": tags,
        "run_id": run_id or run_key,
        **({"langfuse_user_id": user_id} if user_id else {}),
        **({"assistant_id": assistant} if assistant else {}),
        **({"assistant_version": assistant_version} if assistant_version else {}),
        **({"workflow_version": version} if version else {}),
    }
    tracing._trace_attrs = {
        "session_id": thread_id,
        "trace_name": tracing.workflow,
        "tags": tags,
        **({"user_id": user_id} if user_id else {}),
    }
