"""API throughput: N runs of a trivial 3-node graph through the HTTP API vs in-process.

The API path is what a client sees: the official ``langgraph_sdk`` async client calls
``runs.wait`` against a real uvicorn server in its own process (queue row, worker claim, events,
checkpoints, thread and run bookkeeping). The baseline calls ``graph.ainvoke`` on the same graph
with the same kind of official checkpointer on the same kind of database. Both run N calls at
concurrency C, each on a fresh thread. Prints runs/s, p50/p95 latency and the API/in-process ratio,
then the interrupt + resume round trip rate: ``runs.wait`` to an ``interrupt()`` and ``runs.wait``
with ``command={"resume": ...}`` to the end, on a fresh thread each.

    .venv/bin/python bench/api_throughput.py [-n 200] [-c 8] [--database-url sqlite:///...]
"""

from __future__ import annotations

import argparse
import asyncio
import operator
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

from api.app import create_app
from graphs.registry import GraphDeps, GraphRegistry, WorkflowSpec
from runtime.checkpoint import open_async_checkpointer
from runtime.settings import DatabaseSettings, Settings, WorkerSettings


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


def make_app(database_url: str, concurrency: int) -> Any:
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=database_url),
        worker=WorkerSettings(concurrency=concurrency),
        _env_file=None,
    )
    registry = GraphRegistry()
    registry.register(WorkflowSpec("three_nodes", "a -> b -> c", build))
    registry.register(WorkflowSpec("gate", "a -> interrupt -> c", build_gate))
    return create_app(settings, registry)


@contextmanager
def serve(database_url: str, concurrency: int) -> Iterator[str]:
    """The API in its own process (its own GIL), as it is deployed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, __file__, "--serve", str(port), "--database-url", database_url]
    server = subprocess.Popen([*command, "-c", str(concurrency)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


async def measure(n: int, c: int, call: Callable[[], Awaitable[None]]) -> dict[str, float]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(c)

    async def one() -> None:
        async with gate:
            t0 = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"runs_s": n / wall, "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "wall_s": wall}


Rounds = list[dict[str, float]]


async def bench(
    url: str, baseline_url: str, n: int, c: int, rounds: int
) -> tuple[Rounds, Rounds, Rounds]:
    """Alternate API and in-process rounds so load from elsewhere hits both alike."""
    client = get_client(url=url, api_key=None)
    settings = Settings(env="test", _env_file=None)

    async def api_call() -> None:
        tid = (await client.threads.create())["thread_id"]
        await client.runs.wait(tid, "three_nodes", input={"steps": []})

    async def resume_call() -> None:
        tid = (await client.threads.create())["thread_id"]
        paused = await client.runs.wait(tid, "gate", input={"steps": []})
        assert isinstance(paused, dict) and "__interrupt__" in paused, paused
        done = await client.runs.wait(tid, "gate", command={"resume": "yes"})
        assert isinstance(done, dict) and done["steps"] == ["a", "gate:yes", "c"], done

    api: Rounds = []
    local: Rounds = []
    resume: Rounds = []
    try:
        async with open_async_checkpointer(baseline_url) as saver:
            graph = build(GraphDeps(settings=settings, checkpointer=saver))

            async def local_call() -> None:
                config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                await graph.ainvoke({"steps": []}, config)

            await measure(min(n, 10), c, api_call)  # warm up: graph compile, pools
            await measure(min(n, 10), c, local_call)
            await measure(min(n, 10), c, resume_call)
            for _ in range(rounds):
                api.append(await measure(n, c, api_call))
                local.append(await measure(n, c, local_call))
                resume.append(await measure(max(n // 2, 10), c, resume_call))
    finally:
        await client.http.client.aclose()
    return api, local, resume


def _median(results: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="runs per path and round")
    parser.add_argument("-c", type=int, default=8, help="concurrency")
    parser.add_argument("-r", "--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:  # the server subprocess
        uvicorn.run(make_app(args.database_url, args.c), port=args.serve, log_level="warning")
        return
    tmp = tempfile.mkdtemp(prefix="waypost-bench-")
    api_url = args.database_url or f"sqlite:///{tmp}/api.db"
    base_url = args.database_url or f"sqlite:///{tmp}/baseline.db"
    with serve(api_url, args.c) as url:
        api_rounds, local_rounds, resume_rounds = asyncio.run(
            bench(url, base_url, args.n, args.c, args.rounds)
        )
    api, local, resume = _median(api_rounds), _median(local_rounds), _median(resume_rounds)

    title = f"{args.n} runs x {args.rounds} rounds (median), concurrency {args.c}"
    table = Table(title=f"{title}, {api_url.split(':')[0]}")
    for col in ("path", "runs/s", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right")
    for name, r in (("API (SDK runs.wait)", api), ("in-process ainvoke", local)):
        table.add_row(name, f"{r['runs_s']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}")
    console = Console()
    console.print(table)
    ratios = [a["runs_s"] / b["runs_s"] for a, b in zip(api_rounds, local_rounds, strict=True)]
    console.print(
        f"API / in-process throughput ratio: {statistics.median(ratios):.2f} "
        f"(per round: {', '.join(f'{x:.2f}' for x in ratios)})"
    )
    console.print(
        f"interrupt + resume round trips: {resume['runs_s']:.1f}/s, "
        f"p50 {resume['p50_ms']:.1f} ms, p95 {resume['p95_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
