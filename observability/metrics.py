"""Prometheus metrics on a registry of our own (never the global default registry).

Figures come from the same events as the usage ledger (``WaypostMetrics.observe_ledger`` is a
``LedgerWriter`` observer), so a scrape agrees with ``SUM(...)`` over ``usage_ledger``. The
queue and the approvals inbox update their gauges through the small methods below.

Mount it in FastAPI with ``app.add_route("/metrics", metrics_app(metrics))`` (the returned
object is a plain ASGI app, so ``app.mount`` works too). Counters live in the process: with
workers in separate processes each process exposes its own figures (scrape each, or sum them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from waypost.observability.ledger import LedgerEvent, RunContext

__all__ = ["MetricsApp", "WaypostMetrics", "default_metrics", "metrics_app"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class WaypostMetrics:
    """Every Waypost metric, registered on ``self.registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.runs_started = Counter(
            "waypost_runs_started", "Workflow invocations started.", ["workflow"], registry=r
        )
        self.runs_finished = Counter(
            "waypost_runs_finished",
            "Workflow invocations finished, by outcome (success, interrupted, error).",
            ["workflow", "status"],
            registry=r,
        )
        self.run_duration = Histogram(
            "waypost_run_duration_seconds",
            "Wall time of a workflow invocation.",
            ["workflow"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.step_latency = Histogram(
            "waypost_step_latency_seconds",
            "Wall time of one graph node execution.",
            ["workflow", "node"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.llm_calls = Counter(
            "waypost_llm_calls",
            "LLM calls, by model and outcome.",
            ["workflow", "model", "status"],
            registry=r,
        )
        self.llm_tokens = Counter(
            "waypost_llm_tokens",
            "LLM tokens, by model and direction (input, output).",
            ["workflow", "model", "direction"],
            registry=r,
        )
        self.llm_usd = Counter(
            "waypost_llm_cost_usd",
            "LLM cost in USD from the price table.",
            ["workflow", "model"],
            registry=r,
        )
        self.llm_unpriced_calls = Counter(
            "waypost_llm_unpriced_calls",
            "LLM calls of models missing from the price table.",
            ["model"],
            registry=r,
        )
        self.llm_latency = Histogram(
            "waypost_llm_latency_seconds",
            "Latency of one LLM call.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.tool_calls = Counter(
            "waypost_tool_calls",
            "Tool calls, by tool and outcome (ok, error).",
            ["tool", "outcome"],
            registry=r,
        )
        self.queue_depth = Gauge("waypost_queue_depth", "Runs waiting in the queue.", registry=r)
        self.claim_latency = Histogram(
            "waypost_queue_claim_latency_seconds",
            "Time from enqueue to a worker's claim (0 for a run started directly in a free slot).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.pending_approvals = Gauge(
            "waypost_pending_approvals",
            "Approvals waiting for a decision.",
            ["workflow"],
            registry=r,
        )
        self.quota_used = Gauge(
            "waypost_tenant_quota_used",
            "A tenant's model usage in the quota's period (tokens or USD).",
            ["tenant", "quota"],
            registry=r,
        )
        self.quota_limit = Gauge(
            "waypost_tenant_quota_limit",
            "A tenant's quota (tokens or USD per day or month).",
            ["tenant", "quota"],
            registry=r,
        )

    # -- runs and steps ----------------------------------------------------------------------

    def run_started(self, workflow: str) -> None:
        self.runs_started.labels(workflow).inc()

    def run_finished(self, workflow: str, status: str, duration_s: float) -> None:
        self.runs_finished.labels(workflow, status).inc()
        self.run_duration.labels(workflow).observe(duration_s)

    def observe_step(self, workflow: str, node: str, seconds: float) -> None:
        self.step_latency.labels(workflow, node).observe(seconds)

    # -- ledger events (LedgerWriter observer) -----------------------------------------------

    def observe_ledger(self, context: RunContext, event: LedgerEvent) -> None:
        """Count one LLM or tool call exactly as its ledger row records it."""
        if event.kind == "tool":
            self.tool_calls.labels(event.name, event.status).inc()
            return
        wf, model = context.workflow, event.name
        self.llm_calls.labels(wf, model, event.status).inc()
        self.llm_tokens.labels(wf, model, "input").inc(event.input_tokens)
        self.llm_tokens.labels(wf, model, "output").inc(event.output_tokens)
        self.llm_usd.labels(wf, model).inc(event.usd)
        self.llm_latency.labels(model).observe(event.latency_ms / 1000)
        if not event.price_known:
            self.llm_unpriced_calls.labels(model).inc()

    # -- queue and approvals (updated by the run queue / approvals inbox) --------------------

    def set_queue_depth(self, depth: int) -> None:
        self.queue_depth.set(depth)

    def observe_claim_latency(self, seconds: float) -> None:
        self.claim_latency.observe(seconds)

    def set_pending_approvals(self, workflow: str, count: int) -> None:
        self.pending_approvals.labels(workflow).set(count)

    def set_quota(self, tenant: str, quota: str, used: float, limit: float) -> None:
        self.quota_used.labels(tenant, quota).set(used)
        self.quota_limit.labels(tenant, quota).set(limit)

    # -- exposition --------------------------------------------------------------------------

    def render(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)


class MetricsApp:
    """A minimal ASGI app answering ``GET`` with the exposition text (no framework needed)."""

    def __init__(
        self, metrics: WaypostMetrics, refresh: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.metrics = metrics
        self.refresh = refresh  # updates scrape-time gauges (queue depth, pending approvals)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _respond(send, 405, b"method not allowed", b"text/plain")
            return
        if self.refresh is not None:
            await self.refresh()
        await _respond(send, 200, self.metrics.render(), CONTENT_TYPE_LATEST.encode())


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def metrics_app(
    metrics: WaypostMetrics | None = None, refresh: Callable[[], Awaitable[None]] | None = None
) -> MetricsApp:
    """The ``/metrics`` ASGI app for ``metrics`` (default: the process-wide instance);
    ``refresh`` runs before each scrape to read gauges that live in the database."""
    return MetricsApp(metrics or default_metrics(), refresh)


@lru_cache(maxsize=1)
def default_metrics() -> WaypostMetrics:
    """The process-wide metrics (one registry per process); tests build their own."""
    return WaypostMetrics()
