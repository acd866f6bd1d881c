"""A Langfuse that accepts connections and never answers must not fail or slow a run.

Spans are queued in memory and exported by a background thread, so the run itself does not
wait; the only waits are the bounded flush/close (``flush_timeout_s``) we choose to do.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import pytest
from waypost.observability.tracing import close_tracing

from tests.tracing.conftest import make_settings, run_cancel_case
from tests.tracing.otlp_receiver import SilentReceiver

# A dead Langfuse must never make a run wait for its export timeout. The timeout is long here
# (5 s), so a run that waited for it even once would show it, whatever the machine's load; the
# overhead itself is measured by bench/tracing_overhead.py (docs/benchmarks.md), not here.
EXPORT_TIMEOUT_S = 5.0
RUN_OVERHEAD_BOUND_S = EXPORT_TIMEOUT_S / 2
FLUSH_TIMEOUT_S = 0.5


@pytest.fixture
def silent() -> Iterator[SilentReceiver]:
    rx = SilentReceiver()
    rx.base_url = rx.start()  # type: ignore[attr-defined]
    yield rx
    rx.stop()


def test_dead_langfuse_adds_bounded_time(silent, db_factory) -> None:
    from waypost.runtime.settings import LangfuseSettings

    dead = make_settings(
        "sqlite://",
        LangfuseSettings(
            public_key="pk-lf-silent",
            secret_key="sk-lf-silent",
            base_url=silent.base_url,  # type: ignore[attr-defined]
            timeout_s=EXPORT_TIMEOUT_S,
            flush_timeout_s=FLUSH_TIMEOUT_S,
        ),
    )
    off = make_settings("sqlite://")

    def timed(settings) -> float:
        t0 = time.perf_counter()
        result = run_cancel_case(settings, db_factory, flush_s=None, reset_store=True)
        assert result.state["status"] == "completed"
        return time.perf_counter() - t0

    timed(off)  # warm up imports and the store
    base = statistics.median(timed(off) for _ in range(3))
    with_dead = statistics.median(timed(dead) for _ in range(3))
    assert with_dead - base < RUN_OVERHEAD_BOUND_S, (base, with_dead)

    t0 = time.perf_counter()
    close_tracing(FLUSH_TIMEOUT_S)
    closing = time.perf_counter() - t0
    assert closing < FLUSH_TIMEOUT_S + 1.0, closing  # bounded by flush_timeout_s, not the export
    assert silent.connections >= 1  # the exporter really tried and got no answer
    # the abandoned export finishes on its own (its attempt times out after timeout_s); wait
    # for it here so it does not log into a finished test's closed capture stream
    for thread in threading.enumerate():
        if thread.name.startswith("waypost-langfuse-"):
            thread.join(EXPORT_TIMEOUT_S + 2)
