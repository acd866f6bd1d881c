"""Tracing overhead: the retail cancel case (run to the approval, approve, resume) on the
scripted model, with and without Langfuse, median of N interleaved repetitions.

Modes (each case = 2 graph invocations, ~10 tool calls, 2 LLM calls, ~45 Langfuse spans):
  bare      the graph alone, no callbacks
  ledger    usage ledger rows (SQLite) + Prometheus metrics, Langfuse off (the default)
  langfuse  ledger + metrics + Langfuse exporting to a local OTLP/HTTP receiver
  nomask    as langfuse, with no masking patterns or secret keys configured
  dead      ledger + metrics + Langfuse pointed at a server that accepts and never answers

Uses the test fakes (scripted model, tiny store) so it needs no model weights or network.

    .venv/bin/python bench/tracing_overhead.py [-n 20]
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from waypost.domains.retail.tools import load_tau2_db
from waypost.graphs.plugins import migrate
from waypost.observability.metrics import WaypostMetrics
from waypost.observability.tracing import close_tracing
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings, LangfuseSettings

from tests.graphs.conftest import TINY_DB
from tests.tracing.conftest import make_settings, run_cancel_case
from tests.tracing.otlp_receiver import OtlpReceiver, SilentReceiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20, help="repetitions per mode")
    args = parser.parse_args()
    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)  # the dead mode's timeouts

    tmp = Path(tempfile.mkdtemp(prefix="waypost-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    factory = make_session_factory(engine)
    load_tau2_db(factory, copy.deepcopy(TINY_DB))

    live = OtlpReceiver(public_key=f"pk-lf-{uuid.uuid4().hex[:8]}", secret_key="sk-lf-bench")
    live_url = live.start()
    nomask = OtlpReceiver(public_key=f"pk-lf-{uuid.uuid4().hex[:8]}", secret_key="sk-lf-bench")
    nomask_url = nomask.start()
    silent = SilentReceiver()
    silent_url = silent.start()
    settings = {
        "bare": make_settings(url),
        "ledger": make_settings(url),
        "langfuse": make_settings(
            url,
            LangfuseSettings(
                public_key=live.public_key, secret_key=live.secret_key, base_url=live_url
            ),
        ),
        "nomask": make_settings(
            url,
            LangfuseSettings(
                public_key=nomask.public_key,
                secret_key=nomask.secret_key,
                base_url=nomask_url,
                mask_defaults=False,
            ),
        ),
        "dead": make_settings(
            url,
            LangfuseSettings(
                public_key="pk-lf-dead",
                secret_key="sk-lf-dead",
                base_url=silent_url,
                timeout_s=1.0,
                flush_timeout_s=1.0,
            ),
        ),
    }
    metrics = WaypostMetrics()
    times: dict[str, list[float]] = {mode: [] for mode in settings}
    for i in range(args.n + 2):  # 2 warm-up rounds, modes interleaved
        for mode, s in settings.items():
            t0 = time.perf_counter()
            run_cancel_case(
                s,
                factory,
                metrics=metrics,
                flush_s=None,
                reset_store=True,
                instrument=mode != "bare",
            )
            if i >= 2:
                times[mode].append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    close_tracing(settings["dead"].langfuse.flush_timeout_s)
    close_ms = (time.perf_counter() - t0) * 1000
    engine.dispose()

    base = statistics.median(times["bare"])
    print(f"retail cancel case (2 invocations), N={args.n} per mode, median / p90 wall ms")
    print(f"{'mode':<10}{'median':>10}{'p90':>10}{'vs bare':>10}{'vs ledger':>11}")
    ledger = statistics.median(times["ledger"])
    for mode, values in times.items():
        med = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{mode:<10}{med:>10.1f}{p90:>10.1f}{med - base:>+10.1f}{med - ledger:>+11.1f}")
    spans = len(live.spans) / max(args.n + 2, 1)
    print(f"spans received by the live receiver: {len(live.spans)} (~{spans:.0f} per case)")
    print(
        f"close_tracing() at exit with a dead Langfuse and queued spans: {close_ms:.0f} ms "
        f"(bound: flush_timeout_s = {settings['dead'].langfuse.flush_timeout_s:.1f} s)"
    )
    live.stop()
    nomask.stop()
    silent.stop()


if __name__ == "__main__":
    main()
