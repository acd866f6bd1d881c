"""The executor: a crashed worker's run resumes from its last checkpoint on another worker."""

from __future__ import annotations

import asyncio
import contextlib
import operator
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from sqlalchemy.engine import Engine
from waypost.graphs.kit import RUN_TENANT_KEY
from waypost.runtime.checkpoint import open_async_checkpointer
from waypost.runtime.db import make_async_engine
from waypost.runtime.settings import DatabaseSettings, WorkerSettings
from waypost.server import RunExecutor, RunQueue, RunRequest, RunStore, Signals, WorkerPool
from waypost.server.models import Run


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


@pytest.fixture
async def parts(migrated_engine: Engine, database_url: str) -> AsyncIterator[dict[str, Any]]:
    engine = make_async_engine(DatabaseSettings(url=database_url))
    async with open_async_checkpointer(database_url) as saver:
        queue = RunQueue(engine, Signals(), WorkerSettings(lease_s=0.3, heartbeat_s=30))
        yield {"queue": queue, "saver": saver}
        await queue.close()
    await engine.dispose()


async def test_crashed_run_resumes_from_its_checkpoint(parts: dict[str, Any]) -> None:
    queue: RunQueue = parts["queue"]
    calls: list[str] = []
    second_started = asyncio.Event()
    crash = {"armed": True}

    async def first(state: State) -> State:
        calls.append("first")
        return {"log": ["first"]}

    async def second(state: State) -> State:
        calls.append("second")
        if crash["armed"]:
            second_started.set()
            await asyncio.sleep(60)  # the worker dies here
        return {"log": ["second"]}

    g = StateGraph(State)
    g.add_node("first", first)
    g.add_node("second", second)
    g.add_edge(START, "first")
    g.add_edge("first", "second")
    g.add_edge("second", END)
    graph = g.compile(checkpointer=parts["saver"])

    async def resolve(graph_id: str, tenant: str = "default") -> Any:
        return graph

    store = RunStore(queue)
    await store.create_thread("t", {})
    run = await store.create_run("t", RunRequest(assistant_id="g", graph_id="g", input={}))

    doomed = RunExecutor(queue, resolve)

    async def no_release(*_: Any) -> None:  # a crash does not hand the run back politely
        return None

    doomed._release = no_release  # type: ignore[method-assign]
    claimed = await queue.claim("doomed")
    assert claimed is not None
    task = asyncio.create_task(doomed.execute(claimed, "doomed"))
    await asyncio.wait_for(second_started.wait(), 10)
    # durability is "async": the checkpoint after "first" may still be in flight when "second"
    # starts; a crash before it lands would rightly re-run "first", so crash after it landed
    config = {"configurable": {"thread_id": "t"}}
    for _ in range(200):
        if (await graph.aget_state(config)).next == ("second",):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    crash["armed"] = False

    pool = WorkerPool(queue, RunExecutor(queue, resolve), concurrency=1)
    await pool.start()  # its reaper re-queues the expired lease, a loop claims and resumes
    try:
        for _ in range(100):
            row = await queue.get_run(run.run_id)
            assert row is not None
            if row.status == "success":
                break
            await asyncio.sleep(0.1)
    finally:
        await pool.stop()
    done: Run | None = await queue.get_run(run.run_id)
    assert done is not None and done.status == "success" and done.attempt == 2
    assert calls == ["first", "second", "second"]  # "first" did not run twice
    assert done.output == {"log": ["first", "second"]}


async def test_shutdown_hands_running_runs_back(parts: dict[str, Any]) -> None:
    queue: RunQueue = parts["queue"]
    entered = asyncio.Event()
    block = {"on": True}

    async def work(state: State) -> State:
        entered.set()
        if block["on"]:
            await asyncio.sleep(60)
        return {"log": ["work"]}

    g = StateGraph(State)
    g.add_node("work", work)
    g.add_edge(START, "work")
    g.add_edge("work", END)
    graph = g.compile(checkpointer=parts["saver"])

    async def resolve(graph_id: str, tenant: str = "default") -> Any:
        return graph

    store = RunStore(queue)
    await store.create_thread("t", {})
    run = await store.create_run("t", RunRequest(assistant_id="g", graph_id="g", input={}))
    pool = WorkerPool(queue, RunExecutor(queue, resolve), concurrency=2)
    await pool.start()
    await asyncio.wait_for(entered.wait(), 10)
    await pool.stop()
    handed_back = await queue.get_run(run.run_id)
    assert handed_back is not None
    assert (handed_back.status, handed_back.lease_owner) == ("pending", None)

    block["on"] = False
    ticket = queue.signals.ticket(f"done:{run.run_id}")
    pool = WorkerPool(queue, RunExecutor(queue, resolve), concurrency=2)
    await pool.start()
    try:
        assert await ticket.wait(10)
    finally:
        await pool.stop()
    done = await queue.get_run(run.run_id)
    assert done is not None and done.status == "success" and done.attempt == 2
    assert done.output == {"log": ["work"]}


async def test_hook_wraps_each_execution(parts: dict[str, Any]) -> None:
    queue: RunQueue = parts["queue"]
    seen: list[tuple[str, str]] = []

    def node(state: State) -> State:
        return {"log": ["x"]}

    g = StateGraph(State)
    g.add_node("node", node)
    g.add_edge(START, "node")
    g.add_edge("node", END)
    graph = g.compile(checkpointer=parts["saver"])

    async def resolve(graph_id: str, tenant: str = "default") -> Any:
        return graph

    @contextlib.contextmanager
    def hook(run: Run, config: dict[str, Any], usage: Any) -> Iterator[dict[str, Any]]:
        seen.append(("enter", run.run_id))
        yield {**config, "tags": ["traced"]}
        seen.append(("exit", run.run_id))

    store = RunStore(queue)
    await store.create_thread("t", {})
    run = await store.create_run("t", RunRequest(assistant_id="g", graph_id="g", input={}))
    claimed = await queue.claim("w")
    assert claimed is not None
    await RunExecutor(queue, resolve, hook=hook).execute(claimed, "w")
    assert seen == [("enter", run.run_id), ("exit", run.run_id)]
    done = await queue.get_run(run.run_id)
    assert done is not None and done.status == "success"


async def test_a_run_tells_its_graph_its_tenant_and_a_client_cannot(
    parts: dict[str, Any],
) -> None:
    """Domain tools filter their tables by ``configurable.tenant``: the run's, never a value
    the client sent in its config."""
    queue: RunQueue = parts["queue"]
    seen: list[Any] = []

    def node(state: State, config: RunnableConfig) -> State:
        seen.append(config["configurable"].get(RUN_TENANT_KEY))
        return {"log": ["x"]}

    graph = _one_node(parts["saver"], node)

    async def resolve(graph_id: str, tenant: str = "default") -> Any:
        return graph

    store = RunStore(queue)
    await store.create_thread("t", {}, tenant="acme")
    request = RunRequest(
        assistant_id="g",
        graph_id="g",
        input={},
        config={"configurable": {RUN_TENANT_KEY: "globex"}},
        tenant="acme",
    )
    run = await store.create_run("t", request)
    claimed = await queue.claim("w")
    assert claimed is not None
    await RunExecutor(queue, resolve).execute(claimed, "w")
    done = await queue.get_run(run.run_id)
    assert done is not None and done.status == "success"
    assert seen == ["acme"]


def _one_node(saver: Any, node: Any) -> Any:
    g = StateGraph(State)
    g.add_node("node", node)
    g.add_edge(START, "node")
    g.add_edge("node", END)
    return g.compile(checkpointer=saver)


def _pool(queue: RunQueue, graph: Any, concurrency: int) -> WorkerPool:
    """A pool whose safety poll never fires during a test: only wake-ups start runs."""

    async def resolve(graph_id: str, tenant: str = "default") -> Any:
        return graph

    return WorkerPool(queue, RunExecutor(queue, resolve), concurrency=concurrency, safety_poll_s=60)


async def _succeeded(queue: RunQueue, run_id: str, within_s: float = 5.0) -> None:
    for _ in range(int(within_s / 0.05)):
        done = await queue.get_run(run_id)
        if done is not None and done.status == "success":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not succeed within {within_s} s")


async def test_a_run_enqueued_behind_another_starts_when_it_ends(parts: dict[str, Any]) -> None:
    """No polling: the first run's settling wakes the queue for the run waiting on its thread."""
    queue: RunQueue = parts["queue"]
    started = asyncio.Event()

    async def node(state: State) -> State:
        started.set()
        await asyncio.sleep(0.2)
        return {"log": ["x"]}

    pool = _pool(queue, _one_node(parts["saver"], node), concurrency=2)
    await pool.start()
    try:
        store = RunStore(queue)
        await store.create_thread("t", {})
        request = RunRequest(assistant_id="g", graph_id="g", input={}, multitask_strategy="enqueue")
        first = await store.create_run("t", request)
        await asyncio.wait_for(started.wait(), 5)
        second = await store.create_run(
            "t", RunRequest(assistant_id="g", graph_id="g", input={}, multitask_strategy="enqueue")
        )
        await _succeeded(queue, second.run_id)  # started by the first one's end, not a poll
        runs = [await queue.get_run(r.run_id) for r in (first, second)]
        assert [r.status for r in runs if r is not None] == ["success", "success"]
        thread = await store.get_thread("t")
        assert thread.status == "idle"
    finally:
        await pool.stop()


async def test_runs_start_in_a_free_local_slot_without_a_claim(parts: dict[str, Any]) -> None:
    """Direct start: a run that could be claimed at once is created running under the pool's
    lease; with no free slot, or older runs waiting, it queues as usual (FIFO)."""
    queue: RunQueue = parts["queue"]
    release = asyncio.Event()

    async def node(state: State) -> State:
        await release.wait()
        return {"log": ["x"]}

    pool = _pool(queue, _one_node(parts["saver"], node), concurrency=1)
    await pool.start()
    store = RunStore(queue)
    store.direct = pool
    try:
        await asyncio.sleep(0.2)  # the dispatcher's first look at the queue holds the slot
        runs = []
        for name in ("a", "b", "c"):
            await store.create_thread(name, {})
            request = RunRequest(assistant_id="g", graph_id="g", input={"log": []})
            runs.append(await store.create_run(name, request))
        first, second, third = runs
        assert (first.status, first.attempt, first.lease_owner) == ("running", 1, pool.owner)
        assert second.status == third.status == "pending"  # the only slot is busy
        release.set()
        for run in runs:
            await _succeeded(queue, run.run_id)
        stored = await queue.get_run(first.run_id)
        assert stored is not None and stored.attempt == 1 and stored.lease_owner is None
    finally:
        await pool.stop()
