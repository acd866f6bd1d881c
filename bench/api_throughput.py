"""API throughput: N runs of a trivial 3-node graph through the HTTP API vs in-process.

The API path is what a client sees: the official ``langgraph_sdk`` async client creates a thread
and calls ``runs.wait`` against a real uvicorn server in its own process (queue row, worker claim,
events, checkpoints, thread and run bookkeeping). The baseline calls ``graph.ainvoke`` on the same
graph with the same kind of official checkpointer on the same kind of database. Both run N calls
at concurrency C, each on a fresh thread. Prints runs/s (a thread and a run per cycle), the
p50/p95 latency of ``runs.wait`` itself and of the whole cycle, the API/in-process ratios and the
server side's CPU per run; the same for a run on a new thread in one request
(``runs.wait(..., if_not_exists="create")``); then the interrupt + resume round trip rate:
``runs.wait`` to an ``interrupt()`` and ``runs.wait`` with ``command={"resume": ...}`` to the
end, fresh thread each.

Every process runs on uvloop, as ``waypost serve`` (uvicorn) and ``waypost worker`` do, the
in-process floor included. ``--worker-processes K`` (PostgreSQL) runs the API without workers
plus K separate worker processes: the scale-out deployment (``waypost serve --no-workers`` +
``waypost worker``).

    .venv/bin/python bench/api_throughput.py [-n 200] [-c 8] [-r 3]
        [--database-url postgresql://...] [--worker-processes K]
    .venv/bin/python bench/api_throughput.py --compare-auth -c 1 -n 200 -r 10

``--compare-auth`` measures what API keys cost: two servers on two SQLite files, one with an
admin key (so every request is authenticated, scoped, rate-limited and quota-checked) and one
without, ``runs.wait`` against each in alternating rounds, so drift in the machine's speed hits
both alike; it prints each round's p50 difference and their median.
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypedDict

import httpx
import uvicorn
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from langgraph_sdk import get_client
from rich.console import Console
from rich.table import Table
from waypost.api.app import create_app
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphDeps, GraphRegistry, WorkflowSpec
from waypost.runtime.checkpoint import open_async_checkpointer
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.loop import run as run_loop
from waypost.runtime.settings import DatabaseSettings, LimitSettings, Settings, WorkerSettings
from waypost.server.identity import IdentityStore


class State(TypedDict, total=False):
    steps: Annotated[list[str], operator.add]


def build(deps: GraphDeps) -> Any:
    g = StateGraph(State)
    for name in ("a", "b", "c"):
        g.add_node(name, lambda _s, n=name: {"steps": [n]})
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g.compile(checkpointer=deps.checkpointer)


def build_gate(deps: GraphDeps) -> Any:
    """a -> gate (``interrupt()``) -> c: one pause for a human, then two more steps."""

    def gate(_s: State) -> dict[str, Any]:
        return {"steps": [f"gate:{interrupt('ok?')}"]}

    g = StateGraph(State)
    g.add_node("a", lambda _s: {"steps": ["a"]})
    g.add_node("gate", gate)
    g.add_node("c", lambda _s: {"steps": ["c"]})
    g.add_edge(START, "a")
    g.add_edge("a", "gate")
    g.add_edge("gate", "c")
    g.add_edge("c", END)
    return g.compile(checkpointer=deps.checkpointer)


def bench_registry() -> GraphRegistry:
    registry = GraphRegistry()
    registry.register(WorkflowSpec("three_nodes", "a -> b -> c", build))
    registry.register(WorkflowSpec("gate", "a -> interrupt -> c", build_gate))
    return registry


def bench_settings(database_url: str, concurrency: int) -> Settings:
    # rate limits stay on (their cost is part of what --auth measures) but never bind
    return Settings(
        env="test",
        database=DatabaseSettings(url=database_url),
        worker=WorkerSettings(concurrency=concurrency),
        limits=LimitSettings(requests_per_minute=10**9, runs_per_minute=10**9),
        _env_file=None,
    )


def make_key(database_url: str) -> str:
    """An admin key: once one exists, every request of the server needs it."""
    engine = make_engine(DatabaseSettings(url=database_url))
    try:
        migrate(engine)
        return IdentityStore(make_session_factory(engine)).create_key("default", "admin").key
    finally:
        engine.dispose()


def serve_api(port: int, database_url: str, concurrency: int, workers: bool) -> None:
    """The API subprocess."""
    app = create_app(bench_settings(database_url, concurrency), bench_registry(), workers=workers)
    uvicorn.run(app, port=port, log_level="warning")


def work(database_url: str, concurrency: int) -> None:
    """A worker subprocess: claims and executes runs until SIGTERM."""
    from waypost.server.services import open_services

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        settings = bench_settings(database_url, concurrency)
        async with open_services(settings, bench_registry(), api=False):
            await stop.wait()

    run_loop(main())


class Server:
    """Where the API listens, and the pids of the server-side processes (API and workers)."""

    def __init__(self, url: str, pids: list[int]) -> None:
        self.url = url
        self.pids = pids

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far by the server-side processes."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks


def _free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@contextmanager
def serve(database_url: str, concurrency: int, worker_processes: int = 0) -> Iterator[Server]:
    """The API in its own process (its own GIL), as it is deployed; workers in theirs if asked."""
    port = _free_port()
    base = [sys.executable, __file__, "--database-url", database_url, "-c", str(concurrency)]
    api_args = ["--serve", str(port), *(["--no-workers"] if worker_processes else [])]
    processes = [subprocess.Popen([*base, *api_args])]
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or processes[0].poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        processes += [subprocess.Popen([*base, "--work"]) for _ in range(worker_processes)]
        if worker_processes:
            time.sleep(3.0)  # workers open their pools and LISTEN
        yield Server(url, [p.pid for p in processes])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


Call = Callable[[], Awaitable[float | None]]


async def measure(n: int, c: int, call: Call, cpu: Callable[[], float]) -> dict[str, float]:
    """N calls at concurrency C; a call may return the duration of its own timed part."""
    cycles: list[float] = []
    parts: list[float] = []
    gate = asyncio.Semaphore(c)

    async def one() -> None:
        async with gate:
            t0 = time.perf_counter()
            part = await call()
            cycles.append(time.perf_counter() - t0)
            if part is not None:
                parts.append(part)

    cpu0, started = cpu(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - started
    used = cpu() - cpu0
    q = statistics.quantiles(cycles, n=100)
    p = statistics.quantiles(parts, n=100) if len(parts) > 1 else q
    return {
        "runs_s": n / wall,
        "p50_ms": p[49] * 1000,
        "p95_ms": p[94] * 1000,
        "cycle_p50_ms": q[49] * 1000,
        "cycle_p95_ms": q[94] * 1000,
        "cpu_ms": used / n * 1000,
    }


Rounds = list[dict[str, float]]


async def bench(
    server: Server, baseline_url: str, n: int, c: int, rounds: int, key: str | None = None
) -> tuple[Rounds, Rounds, Rounds, Rounds]:
    """Alternate API and in-process rounds so load from elsewhere hits both alike."""
    client = get_client(url=server.url, api_key=key)
    settings = Settings(env="test", _env_file=None)

    async def api_call() -> float:
        tid = (await client.threads.create())["thread_id"]
        t0 = time.perf_counter()
        await client.runs.wait(tid, "three_nodes", input={"steps": []})
        return time.perf_counter() - t0

    async def one_request_call() -> float:
        t0 = time.perf_counter()  # a new thread created by the run itself: one request per run
        tid = str(uuid.uuid4())
        await client.runs.wait(tid, "three_nodes", input={"steps": []}, if_not_exists="create")
        return time.perf_counter() - t0

    async def resume_call() -> None:
        tid = (await client.threads.create())["thread_id"]
        paused = await client.runs.wait(tid, "gate", input={"steps": []})
        assert isinstance(paused, dict) and "__interrupt__" in paused, paused
        done = await client.runs.wait(tid, "gate", command={"resume": "yes"})
        assert isinstance(done, dict) and done["steps"] == ["a", "gate:yes", "c"], done

    api: Rounds = []
    single: Rounds = []
    local: Rounds = []
    resume: Rounds = []
    try:
        async with open_async_checkpointer(baseline_url) as saver:
            graph = build(GraphDeps(settings=settings, checkpointer=saver))

            async def local_call() -> None:
                config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                await graph.ainvoke({"steps": []}, config)

            await measure(min(n, 10), c, api_call, server.cpu_s)  # warm up: compile, pools
            await measure(min(n, 10), c, local_call, time.process_time)
            await measure(min(n, 10), c, resume_call, server.cpu_s)
            await measure(min(n, 10), c, one_request_call, server.cpu_s)
            for _ in range(rounds):
                api.append(await measure(n, c, api_call, server.cpu_s))
                single.append(await measure(n, c, one_request_call, server.cpu_s))
                local.append(await measure(n, c, local_call, time.process_time))
                resume.append(await measure(max(n // 2, 10), c, resume_call, server.cpu_s))
    finally:
        await client.http.client.aclose()
    return api, single, local, resume


def _median(results: Rounds) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def report(
    args: argparse.Namespace,
    url: str,
    api_r: Rounds,
    single_r: Rounds,
    local_r: Rounds,
    res_r: Rounds,
) -> None:
    api, single, local = _median(api_r), _median(single_r), _median(local_r)
    resume = _median(res_r)
    layout = f", API + {args.worker_processes} worker processes" if args.worker_processes else ""
    title = f"{args.n} runs x {args.rounds} rounds (median), concurrency {args.c}"
    title += ", API keys on" if args.auth else ""
    table = Table(title=f"{title}, {url.split(':')[0]}{layout}")
    for col in ("path", "runs/s", "p50 ms", "p95 ms", "cycle p50 ms", "CPU ms/run"):
        table.add_column(col, justify="right")
    for name, r in (
        ("API: threads.create + runs.wait", api),
        ("API: runs.wait(if_not_exists=create)", single),
    ):
        table.add_row(
            name,
            f"{r['runs_s']:.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['cycle_p50_ms']:.1f}",
            f"{r['cpu_ms']:.1f}",
        )
    table.add_row(
        "in-process ainvoke (floor)",
        f"{local['runs_s']:.1f}",
        f"{local['p50_ms']:.1f}",
        f"{local['p95_ms']:.1f}",
        "",
        f"{local['cpu_ms']:.1f}",
    )
    console = Console(width=120)
    console.print(table)
    ratios = [a["runs_s"] / b["runs_s"] for a, b in zip(api_r, local_r, strict=True)]
    console.print(
        f"runs.wait p50 - floor p50: {api['p50_ms'] - local['p50_ms']:.1f} ms; "
        f"API / in-process throughput: {statistics.median(ratios):.2f} "
        f"(per round: {', '.join(f'{x:.2f}' for x in ratios)})"
    )
    console.print(
        f"interrupt + resume round trips: {resume['runs_s']:.1f}/s, "
        f"p50 {resume['cycle_p50_ms']:.1f} ms, p95 {resume['cycle_p95_ms']:.1f} ms"
    )


async def paired_rounds(
    plain: Server, keyed: Server, key: str, n: int, c: int, rounds: int
) -> tuple[Rounds, Rounds]:
    """``runs.wait(if_not_exists=create)`` against both servers, alternating round by round."""
    clients = (get_client(url=plain.url), get_client(url=keyed.url, api_key=key))

    def caller(index: int) -> Call:
        client = clients[index]

        async def call() -> float:
            t0 = time.perf_counter()
            tid = str(uuid.uuid4())
            await client.runs.wait(tid, "three_nodes", input={"steps": []}, if_not_exists="create")
            return time.perf_counter() - t0

        return call

    servers = (plain, keyed)
    results: tuple[Rounds, Rounds] = ([], [])
    try:
        for i in (0, 1):  # warm up: compile, pools
            await measure(min(n, 20), c, caller(i), servers[i].cpu_s)
        for r in range(rounds):
            order = (0, 1) if r % 2 == 0 else (1, 0)  # neither side always goes first
            for i in order:
                results[i].append(await measure(n, c, caller(i), servers[i].cpu_s))
    finally:
        for client in clients:
            await client.http.client.aclose()
    return results


def compare_auth(plain_url: str, keyed_url: str, args: argparse.Namespace) -> None:
    """The cost of API keys, paired: same graph, same client, rounds interleaved in time."""
    migrate_engine = make_engine(DatabaseSettings(url=plain_url))
    try:
        migrate(migrate_engine)
    finally:
        migrate_engine.dispose()
    key = make_key(keyed_url)
    with serve(plain_url, args.c) as plain, serve(keyed_url, args.c) as keyed:
        off, on = run_loop(paired_rounds(plain, keyed, key, args.n, args.c, args.rounds))
    table = Table(
        title=f"runs.wait(if_not_exists=create), {args.n} runs x {args.rounds} paired rounds, "
        f"concurrency {args.c}, sqlite"
    )
    for col in ("round", "no auth p50 ms", "keys p50 ms", "diff ms", "CPU ms/run off / on"):
        table.add_column(col, justify="right")
    diffs = []
    for i, (a, b) in enumerate(zip(off, on, strict=True), start=1):
        diffs.append(b["p50_ms"] - a["p50_ms"])
        table.add_row(
            str(i),
            f"{a['p50_ms']:.2f}",
            f"{b['p50_ms']:.2f}",
            f"{diffs[-1]:+.2f}",
            f"{a['cpu_ms']:.1f} / {b['cpu_ms']:.1f}",
        )
    console = Console(width=120)
    console.print(table)
    a, b = _median(off), _median(on)
    console.print(
        f"median p50: no auth {a['p50_ms']:.2f} ms, keys {b['p50_ms']:.2f} ms; "
        f"median of per-round differences {statistics.median(diffs):+.2f} ms; "
        f"server CPU per run {a['cpu_ms']:.2f} -> {b['cpu_ms']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="runs per path and round")
    parser.add_argument("-c", type=int, default=8, help="concurrency (clients and worker slots)")
    parser.add_argument("-r", "--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--worker-processes", type=int, default=0, help="separate worker processes (PostgreSQL)"
    )
    parser.add_argument(
        "--auth", action="store_true", help="API keys on: every request carries one"
    )
    parser.add_argument(
        "--compare-auth",
        action="store_true",
        help="two servers, one with API keys and one without, measured in alternating rounds",
    )
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-workers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve_api(args.serve, args.database_url, args.c, workers=not args.no_workers)
        return
    if args.work:
        work(args.database_url, args.c)
        return
    if args.worker_processes and not (args.database_url or "").startswith("postgresql"):
        parser.error("--worker-processes needs --database-url postgresql://...")
    tmp = tempfile.mkdtemp(prefix="waypost-bench-")
    api_url = args.database_url or f"sqlite:///{tmp}/api.db"
    base_url = args.database_url or f"sqlite:///{tmp}/baseline.db"
    if args.compare_auth:
        keyed_url = args.database_url or f"sqlite:///{tmp}/keyed.db"
        if args.database_url:
            parser.error("--compare-auth uses two temporary SQLite databases")
        compare_auth(api_url, keyed_url, args)
        return
    key = make_key(api_url) if args.auth else None
    with serve(api_url, args.c, args.worker_processes) as server:
        rounds = run_loop(bench(server, base_url, args.n, args.c, args.rounds, key))
    report(args, api_url, *rounds)


if __name__ == "__main__":
    main()
