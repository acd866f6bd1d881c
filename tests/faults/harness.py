"""The fault suite's machinery, shared by ``tests/faults`` (asserted) and ``bench/faults.py``.

Every scenario serves the API on loopback, submits runs of ``fault_graph.py`` over HTTP while one
fault is injected, waits for every run, and judges from the database and the answers:

- ``completed``: the run succeeded with a model answer; ``degraded``: it succeeded with the safe
  default and a reason; ``failed``: it ended ``error`` with a reason;
- ``lost``: a run that vanished or is still not finished at the deadline;
- ``duplicated``: runs whose side effect (a ``fault_effects`` row) happened more than once;
- ``http_5xx``: every 5xx the client saw, on any request.

Faults: a model that fails a share of calls (timeouts, 5xx, malformed output), every database
connection killed (or the server restarted) under load, worker processes SIGKILLed in a loop, and
a Langfuse that accepts connections and never answers. Nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from waypost.api.app import create_app
from waypost.graphs.langgraph_json import register_langgraph_json
from waypost.graphs.registry import GraphRegistry
from waypost.runtime.db import sync_url
from waypost.runtime.settings import (
    DatabaseSettings,
    LangfuseSettings,
    Settings,
    WorkerSettings,
)

from tests.api.server import serve
from tests.api.worker_proc import WorkerProcess
from tests.faults.fault_graph import EFFECTS_DDL

GRAPH = Path(__file__).with_name("fault_graph.py")
TERMINAL = {"success", "error", "interrupted", "timeout"}


# -- figures ------------------------------------------------------------------------------------
@dataclass
class Figures:
    scenario: str
    submitted: int = 0
    completed: int = 0
    degraded: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    http_5xx: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.scenario}: submitted={self.submitted} completed={self.completed} "
            f"degraded={self.degraded} failed={self.failed} lost={self.lost} "
            f"duplicated={self.duplicated} http_5xx={self.http_5xx} ({self.seconds:.1f}s)"
        )

    def report(self) -> str:
        lines = [self.line()]
        lines += [f"  reason x{n}: {reason}" for reason, n in self.reasons.most_common(6)]
        lines += [f"  {key}: {value}" for key, value in self.notes.items()]
        return "\n".join(lines)


# -- a flaky OpenAI-compatible model ------------------------------------------------------------
class FlakyModel:
    """``POST /v1/chat/completions`` that fails ``failure_rate`` of calls, by a seeded draw.

    Failures are split evenly between a reply slower than the client's timeout, an HTTP 500/503
    with an OpenAI error body, and malformed output (not the JSON the schema asks for).
    """

    def __init__(
        self,
        failure_rate: float = 0.3,
        hang_s: float = 1.5,
        seed: int = 15,
        script: list[str] | None = None,
    ) -> None:
        self.script = list(script or [])  # modes to play first, in order
        self.failure_rate = failure_rate
        self.hang_s = hang_s
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None

    def _draw(self) -> str:
        with self._lock:
            roll = self._random.random()
            if self.script:
                mode = self.script.pop(0)
            elif roll >= self.failure_rate:
                mode = "ok"
            else:
                mode = ("timeout", "http_5xx", "malformed")[int(roll / self.failure_rate * 3)]
            self.calls[mode] += 1
            return mode

    def start(self) -> str:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                self.rfile.read(length)
                mode = model._draw()
                if mode == "timeout":
                    time.sleep(model.hang_s)
                if mode == "http_5xx":
                    status = random.choice((500, 503))
                    body = {"error": {"message": "upstream overloaded", "type": "server_error"}}
                    return self._send(status, body)
                content = (
                    '{"label": "refund", "confid'
                    if mode == "malformed"
                    else json.dumps({"label": "refund", "confidence": 0.9})
                )
                return self._send(200, _completion(content))

            def _send(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (its timeout): nothing to answer
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fault-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
    }


# -- the API and its workload ---------------------------------------------------------------
def settings_for(
    database_url: str,
    *,
    lease_s: float = 10.0,
    concurrency: int = 4,
    langfuse: LangfuseSettings | None = None,
) -> Settings:
    return Settings(
        env="test",
        log_level="ERROR",
        database=DatabaseSettings(url=database_url),
        worker=WorkerSettings(
            concurrency=concurrency, lease_s=lease_s, heartbeat_s=min(2.0, lease_s / 4)
        ),
        langfuse=langfuse or LangfuseSettings(),
        _env_file=None,  # type: ignore[call-arg]
    )


def write_config(directory: Path) -> Path:
    config = directory / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"fault": f"{GRAPH}:graph"}}))
    return config


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set process environment variables for the graph module; restore them afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def api(settings: Settings, config: Path, *, workers: bool = True) -> Iterator[str]:
    app = create_app(settings, register_langgraph_json(GraphRegistry(), config), workers=workers)
    with serve(app) as url:  # migrates the database on start
        engine = create_engine(sync_url(settings.database.url))
        with engine.begin() as conn:
            conn.execute(text(EFFECTS_DDL))
        engine.dispose()
        yield url


async def submit_and_wait(
    url: str,
    figures: Figures,
    runs: int,
    *,
    concurrency: int = 8,
    deadline_s: float = 120.0,
    while_running: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Create ``runs`` background runs and join each; returns {run_id: joined result}.

    Every response is seen by a hook that counts 5xx. ``while_running`` (the fault) runs
    concurrently with the joins and is cancelled when they are done.
    """

    async def count_5xx(response: httpx.Response) -> None:
        if response.status_code >= 500:
            figures.http_5xx += 1
            figures.reasons[f"HTTP {response.status_code} {response.request.url.path}"] += 1

    results: dict[str, Any] = {}
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        base_url=url, timeout=deadline_s, event_hooks={"response": [count_5xx]}
    ) as client:

        async def one(i: int) -> None:
            async with limit:
                thread = await _retrying(lambda: client.post("/threads", json={}))
                tid = thread.json()["thread_id"]
                body = {"assistant_id": "fault", "input": {"question": f"case {i}"}}
                created = await _retrying(lambda: client.post(f"/threads/{tid}/runs", json=body))
                run_id = created.json()["run_id"]
                figures.submitted += 1
                joined = await _retrying(lambda: client.get(f"/threads/{tid}/runs/{run_id}/join"))
                results[run_id] = joined.json()

        fault = asyncio.ensure_future(while_running()) if while_running else None
        started = time.monotonic()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(one(i) for i in range(runs)), return_exceptions=True),
                deadline_s,
            )
        except TimeoutError:
            figures.notes["deadline"] = f"joins still waiting after {deadline_s:.0f}s"
        finally:
            figures.seconds = time.monotonic() - started
            if fault is not None:
                fault.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fault
    return results


async def _retrying(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """A client's honest retry: on a transport error or a 503 only, bounded (5 tries)."""
    for attempt in range(5):
        try:
            response = await call()
        except httpx.TransportError:
            if attempt == 4:
                raise
        else:
            if response.status_code != 503 or attempt == 4:
                response.raise_for_status()
                return response
        await asyncio.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def judge(database_url: str, figures: Figures, results: dict[str, Any]) -> Figures:
    """Classify every submitted run from the database (status, output, side effects)."""
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT run_id, status, output, error FROM runs")).all()
        effects = Counter(conn.execute(text("SELECT run_id FROM fault_effects")).scalars())
    engine.dispose()
    by_id = {r.run_id: r for r in rows}
    for run_id in results:
        row = by_id.get(run_id)
        if row is None or row.status not in TERMINAL:
            figures.lost += 1
            continue
        output = _json(row.output) or {}
        if row.status == "success" and output.get("degraded"):
            figures.degraded += 1
            figures.reasons[f"degraded: {output['degraded'].split(':')[0]}"] += 1
        elif row.status == "success":
            figures.completed += 1
        else:
            error = _json(row.error) or {}
            figures.failed += 1
            figures.reasons[f"failed: {error.get('error')}: {error.get('message', '')[:80]}"] += 1
    figures.lost += figures.submitted - len(results)
    figures.duplicated = sum(1 for run_id, n in effects.items() if n > 1 and run_id in results)
    return figures


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# -- faults ---------------------------------------------------------------------------------------
def kill_connections(admin_url: str, database: str) -> int:
    """Terminate every server connection to ``database`` (not the server): returns how many."""
    engine = create_engine(sync_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        ).scalar_one()
    engine.dispose()
    return int(killed)


def restart_cluster(version: str = "15", cluster: str = "main") -> None:
    """Restart the whole PostgreSQL server (bench only, ``--restart-cluster``)."""
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
        check=True,
        timeout=60,
    )


class WorkerFleet:
    """``size`` ``waypost worker`` processes; ``kill_one`` SIGKILLs one and starts its successor."""

    def __init__(self, config: Path, env: dict[str, str], size: int = 2, concurrency: int = 4):
        self.config, self.env, self.concurrency = config, env, concurrency
        self.workers = [WorkerProcess(config, env, concurrency) for _ in range(size)]
        self.killed = 0

    def wait_ready(self, timeout: float = 90) -> None:
        for worker in self.workers:
            if not worker.ready.wait(timeout):
                raise RuntimeError(f"worker did not start:\n{worker.log}")

    def kill(self, victim: WorkerProcess) -> None:
        """SIGKILL ``victim`` (no cleanup: its leases just expire) and start a successor."""
        self.workers.remove(victim)
        os.kill(victim.pid, signal.SIGKILL)
        victim.stop()
        self.killed += 1
        self.workers.append(WorkerProcess(self.config, self.env, self.concurrency))

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


def acting_worker(database_url: str, fleet: WorkerFleet, timeout_s: float = 20.0) -> Any:
    """A live worker of ``fleet`` that owns a running run whose side effect has committed."""
    engine = create_engine(sync_url(database_url))
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pids = set(
                    conn.execute(
                        text(
                            "SELECT e.pid FROM runs r JOIN fault_effects e ON e.run_id = r.run_id "
                            "WHERE r.status = 'running'"
                        )
                    ).scalars()
                )
                pending = conn.execute(
                    text("SELECT count(*) FROM runs WHERE status IN ('pending', 'running')")
                ).scalar_one()
            for worker in fleet.workers:
                if worker.pid in pids and worker.proc.poll() is None:
                    return worker
            if not pending:
                return None
            time.sleep(0.02)
        return None
    finally:
        engine.dispose()


def retried_runs(database_url: str) -> int:
    """Runs that needed more than one attempt (reaped from a killed worker)."""
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM runs WHERE attempt > 1")).scalar_one()
    engine.dispose()
    return int(count)
