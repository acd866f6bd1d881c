"""Failover: two `waypost worker` processes, one SIGKILLed mid-run; nothing lost, nothing doubled.

The API (no workers of its own) enqueues 50 runs of ``byo/failover_graph.py`` on PostgreSQL; two
worker processes share them. Once the first worker has acted (its write tool committed) in a run
that is still running, it is killed with SIGKILL: no cleanup, its leases just stop being renewed.
The survivor's reaper re-queues those runs after the (short) lease, claims them as attempt 2,
resumes them from their last checkpoint, and the write tool replays its recorded result instead
of acting again. The store is the judge: one ``failover_effects`` row and one ``ToolInvocation``
per run, every run ``success``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from sqlalchemy import Engine, create_engine, text
from waypost.api.app import create_app
from waypost.graphs.langgraph_json import register_langgraph_json
from waypost.graphs.registry import GraphRegistry
from waypost.runtime.db import sync_url

from tests.api.conftest import make_settings
from tests.api.server import serve
from tests.api.worker_proc import WorkerProcess, worker_process

BYO = Path(__file__).parent / "byo"
RUNS = 50
LEASE_S = 2.5


def _wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _acted_mid_run(engine: Engine, worker: WorkerProcess) -> bool:
    """True once ``worker`` owns a running run whose write tool has already committed."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT 1 FROM runs r JOIN failover_effects e ON e.run_id = r.run_id "
                "WHERE r.status = 'running' AND r.lease_owner LIKE :owner AND e.pid = :pid"
            ),
            {"owner": f"%:{worker.pid}:%", "pid": worker.pid},
        ).first()
    return found is not None


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_sigkilled_worker_loses_no_run_and_doubles_no_write(
    tmp_path: Path, postgres_url: str
) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"failover": f"{BYO / 'failover_graph.py'}:graph"}}))
    env = {
        "WAYPOST_DATABASE__URL": postgres_url,
        "WAYPOST_ENV": "test",
        "WAYPOST_LOG_LEVEL": "WARNING",
        "WAYPOST_WORKER__LEASE_S": str(LEASE_S),
        "WAYPOST_WORKER__HEARTBEAT_S": "0.5",
    }
    engine = create_engine(sync_url(postgres_url))
    app = create_app(
        make_settings(postgres_url), register_langgraph_json(GraphRegistry(), config), workers=False
    )
    started = time.monotonic()
    with (
        serve(app) as url,  # migrates the database; enqueues and answers, executes nothing
        worker_process(config, env, concurrency=4) as victim,
        worker_process(config, env, concurrency=4) as survivor,
    ):
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE failover_effects (id SERIAL PRIMARY KEY, run_id TEXT NOT NULL, "
                    "thread_id TEXT NOT NULL, pid INTEGER NOT NULL)"
                )
            )
        assert victim.ready.wait(60), victim.log
        assert survivor.ready.wait(60), survivor.log
        client = get_client(url=url, api_key=None)
        try:

            async def start_one() -> tuple[str, str]:
                tid = (await client.threads.create())["thread_id"]
                run = await client.runs.create(tid, "failover", input={"n": 1})
                return tid, run["run_id"]

            runs = await asyncio.gather(*(start_one() for _ in range(RUNS)))
            await asyncio.to_thread(
                _wait_until, lambda: _acted_mid_run(engine, victim), 30, "the victim to act"
            )
            os.kill(victim.pid, signal.SIGKILL)
            results = await asyncio.wait_for(
                asyncio.gather(*(client.runs.join(tid, rid) for tid, rid in runs)), 60
            )
        finally:
            await client.http.client.aclose()
        assert survivor.proc.poll() is None, survivor.log
    elapsed = time.monotonic() - started

    run_ids = {rid for _, rid in runs}
    with engine.connect() as conn:
        statuses: dict[str, str] = dict(conn.execute(text("SELECT run_id, status FROM runs")).all())
        attempts: dict[str, int] = dict(
            conn.execute(text("SELECT run_id, attempt FROM runs")).all()
        )
        effects = conn.execute(text("SELECT run_id, pid FROM failover_effects")).all()
        invocations = Counter(
            conn.execute(
                text("SELECT run_id FROM tool_invocations WHERE tool_name = 'record_charge'")
            ).scalars()
        )
    engine.dispose()

    # no run lost: every run finished, successfully
    assert set(statuses) == run_ids
    assert Counter(statuses.values()) == {"success": RUNS}, Counter(statuses.values())
    # no write acted twice: exactly one side effect and one tool record per run
    per_run = Counter(rid for rid, _ in effects)
    assert per_run == dict.fromkeys(run_ids, 1), {r: n for r, n in per_run.items() if n != 1}
    assert invocations == dict.fromkeys(run_ids, 1)
    # the work was spread over both workers, and the victim's runs were re-claimed
    actors = {pid for _, pid in effects}
    assert actors == {victim.pid, survivor.pid}, actors
    assert max(attempts.values()) > 1, attempts
    outputs = [r for r in results if isinstance(r, dict)]
    assert len(outputs) == RUNS, results
    effect_pid: dict[str, int] = dict(effects)
    for (_, rid), out in zip(runs, outputs, strict=True):
        assert out["charged_by"] == effect_pid[rid], (rid, out)  # a replay returns the record
    # a run the victim charged and the survivor finished: the retry replayed, it did not act
    assert any(
        o["charged_by"] == victim.pid and o["finished_by"] == survivor.pid for o in outputs
    ), outputs
    print(f"failover: {RUNS} runs, {sum(a > 1 for a in attempts.values())} retried, {elapsed:.1f}s")
