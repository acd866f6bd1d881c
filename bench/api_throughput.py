"""API throughput: N runs of a trivial 3-node graph through the HTTP API vs in-process.

The API path is what a client sees: the official ``langgraph_sdk`` async client calls
``runs.wait`` against a real uvicorn server in its own process (queue row, worker claim, events,
checkpoints, thread and run bookkeeping). The baseline calls ``graph.ainvoke`` on the same graph
with the same kind of official checkpointer on the same kind of database. Both run N calls at
concurrency C, each on a fresh thread. Prints runs/s, p50/p95 latency and the API/in-process ratio.

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


def make_app(database_url: str, concurrency: int) -> Any:
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=database_url),
        worker=WorkerSettings(concurrency=concurrency),
        _env_file=None,
    )
    registry = GraphRegistry()
    registry.register(WorkflowSpec("three_nodes", "a -> b -> c", build))
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


async def bench(
    url: str, baseline_url: str, n: int, c: int, rounds: int
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Alternate API and in-process rounds so load from elsewhere hits both alike."""
    client = get_client(url=url, api_key=None)
    settings = Settings(env="test", _env_file=None)

    async def api_call() -> None:
        tid = (await client.threads.create())["thread_id"]
        await client.runs.wait(tid, "three_nodes", input={"steps": []})

    api: list[dict[str, float]] = []
    local: list[dict[str, float]] = []
    try:
        async with open_async_checkpointer(baseline_url) as saver:
            graph = build(GraphDeps(settings=settings, checkpointer=saver))

            async def local_call() -> None:
                config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                await graph.ainvoke({"steps": []}, config)

            await measure(min(n, 10), c, api_call)  # warm up: graph compile, pools
            await measure(min(n, 10), c, local_call)
            for _ in range(rounds):
                api.append(await measure(n, c, api_call))
                local.append(await measure(n, c, local_call))
    finally:
        await client.http.client.aclose()
    return api, local


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
        api_rounds, local_rounds = asyncio.run(bench(url, base_url, args.n, args.c, args.rounds))
    api, local = _median(api_rounds), _median(local_rounds)

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


if __name__ == "__main__":
    main()
