"""``StepTimer``: a callback that observes each graph node's wall time into Prometheus."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from waypost.observability.metrics import WaypostMetrics

__all__ = ["StepTimer"]


class StepTimer(BaseCallbackHandler):
    """Times LangGraph node runs (the chain run named like its ``langgraph_node``)."""

    run_inline = True  # cheap and order-sensitive: never hop to a thread pool

    def __init__(self, metrics: WaypostMetrics, workflow: str) -> None:
        self.metrics = metrics
        self.workflow = workflow
        self._started: dict[UUID, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        node = (metadata or {}).get("langgraph_node")
        if node and kwargs.get("name") == node:
            with self._lock:
                self._started[run_id] = (str(node), time.perf_counter())

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._done(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._done(run_id)  # an interrupt ends the node too: its time until then counts

    def _done(self, run_id: UUID) -> None:
        with self._lock:
            started = self._started.pop(run_id, None)
        if started is not None:
            node, t0 = started
            self.metrics.observe_step(self.workflow, node, time.perf_counter() - t0)
