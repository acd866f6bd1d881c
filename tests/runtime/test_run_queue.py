"""The durable run queue on SQLite and PostgreSQL: claims, leases, reaping, cancel, wake-ups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_async_engine, make_engine, sync_url
from waypost.runtime.rawsql import INTEGRITY_ERRORS, Sql
from waypost.runtime.settings import DatabaseSettings, WorkerSettings
from waypost.server import PgListener, RunQueue, RunRequest, RunStore, Signals
from waypost.server.queue import queue_key
from waypost.server.signals import QUEUE_CHANNEL, RUNS_CHANNEL, notify_payloads


@pytest.fixture
async def queue(migrated_engine: Engine, database_url: str) -> AsyncIterator[RunQueue]:
    engine = make_async_engine(DatabaseSettings(url=database_url))
    queue = RunQueue(engine, Signals(), WorkerSettings(lease_s=0.2, max_attempts=2))
    yield queue
    await queue.close()
    await engine.dispose()


async def _enqueue(store: RunStore, thread_id: str | None = None) -> str:
    thread = await store.create_thread(thread_id, {}, if_exists="do_nothing")
    run = await store.create_run(
        thread.thread_id,
        RunRequest(assistant_id="g", graph_id="g", input={"n": 1}, multitask_strategy="enqueue"),
    )
    return run.run_id


async def test_concurrent_claims_take_each_run_once(queue: RunQueue) -> None:
    store = RunStore(queue)
    run_ids = {await _enqueue(store) for _ in range(12)}

    async def claimer(i: int) -> list[str]:
        got = []
        while (run := await queue.claim(f"w{i}")) is not None:
            got.append(run.run_id)
        return got

    claimed = [r for batch in await asyncio.gather(*(claimer(i) for i in range(4))) for r in batch]
    assert sorted(claimed) == sorted(run_ids)


async def test_runs_of_one_thread_execute_one_at_a_time(queue: RunQueue) -> None:
    store = RunStore(queue)
    first = await _enqueue(store, "t1")
    second = await _enqueue(store, "t1")
    claimed = await queue.claim("w")
    assert claimed is not None and claimed.run_id == first
    assert await queue.claim("w") is None  # t1 is busy with the first run
    await queue.request_cancel([first])
    async with queue.sessions() as session:  # the worker settles the cancelled run
        from waypost.server.models import Run

        row = await session.get(Run, first)
        assert row is not None and row.cancel_requested == "interrupt"
        row.status = "interrupted"
        await session.commit()
    nxt = await queue.claim("w")
    assert nxt is not None and nxt.run_id == second


async def test_reaper_requeues_then_gives_up(queue: RunQueue) -> None:
    store = RunStore(queue)
    run_id = await _enqueue(store)
    first = await queue.claim("dead-worker")
    assert first is not None and first.attempt == 1
    await asyncio.sleep(0.3)  # the lease (0.2 s) expires: this is the crash being simulated
    assert await queue.reap() == 1
    assert (await queue.get_run(run_id)).status == "pending"  # type: ignore[union-attr]
    again = await queue.claim("live-worker")
    assert again is not None and again.attempt == 2
    assert await queue.heartbeat(run_id, "dead-worker") == "lost"
    await asyncio.sleep(0.3)
    assert await queue.reap() == 1
    failed = await queue.get_run(run_id)
    assert failed is not None and failed.status == "error"
    assert failed.error is not None and failed.error["error"] == "LeaseExpired"


async def test_cancel_reaches_pending_and_running_runs(queue: RunQueue) -> None:
    store = RunStore(queue)
    running = await _enqueue(store)
    pending = await _enqueue(store)
    assert (await queue.claim("w")) is not None
    ticket = queue.signals.ticket(f"cancel:{running}")
    assert sorted(await queue.request_cancel([running, pending])) == sorted([running, pending])
    assert ticket.event.is_set()  # the in-process worker is woken at once
    assert await queue.heartbeat(running, "w") == "interrupt"  # other processes: the column
    assert (await queue.get_run(pending)).status == "interrupted"  # type: ignore[union-attr]


async def test_enqueue_wakes_an_idle_claimer_without_polling(queue: RunQueue) -> None:
    store = RunStore(queue)
    ticket = queue.signals.ticket(queue_key)
    assert await queue.claim("w") is None
    waiter = asyncio.create_task(ticket.wait(30))
    await _enqueue(store)
    assert await asyncio.wait_for(waiter, 2) is True


@pytest.mark.postgres
async def test_listen_notify_wakes_another_process(postgres_url: str) -> None:
    """Two queues with separate connections and signals stand in for two processes."""
    database_url = postgres_url
    sync_engine = make_engine(DatabaseSettings(url=database_url))
    migrate(sync_engine)
    sync_engine.dispose()
    conninfo = sync_url(database_url).replace("postgresql+psycopg", "postgresql")
    engine_a = make_async_engine(DatabaseSettings(url=database_url))
    engine_b = make_async_engine(DatabaseSettings(url=database_url))
    signals_b = Signals()
    listener = PgListener(conninfo, signals_b)
    await listener.start()
    queue_a = RunQueue(engine_a, Signals())
    queue_b = RunQueue(engine_b, signals_b)
    try:
        ticket = signals_b.ticket(queue_key)
        await _enqueue(RunStore(queue_a))
        assert await ticket.wait(5) is True
        claimed = await queue_b.claim("b")
        assert claimed is not None
    finally:
        await listener.stop()
        await queue_a.close()
        await queue_b.close()
        await engine_a.dispose()
        await engine_b.dispose()


async def test_concurrent_claimers_never_take_one_thread_twice(
    queue: RunQueue, database_url: str
) -> None:
    store = RunStore(queue)
    for t in range(5):
        for _ in range(3):
            await _enqueue(store, f"thread-{t}")
    engines = []
    if queue.is_postgres:  # separate pools stand in for separate worker processes
        engines = [make_async_engine(DatabaseSettings(url=database_url)) for _ in range(3)]
        queues = [RunQueue(e, Signals(), queue.settings) for e in engines]
    else:  # SQLite: one process owns the queue
        queues = [queue] * 3
    try:
        claims = await asyncio.gather(
            *(queues[i % 3].claim(f"w{i}") for i in range(12)), return_exceptions=True
        )
    finally:
        for engine, other in zip(engines, queues, strict=False):
            await other.close()
            await engine.dispose()
    claimed = [c for c in claims if c is not None]
    assert not [c for c in claimed if isinstance(c, BaseException)]
    threads = [c.thread_id for c in claimed]  # type: ignore[union-attr]
    assert len(threads) == len(set(threads)) <= 5


def test_notify_payloads_pack_keys_under_the_postgres_limit() -> None:
    keys = [f"run:{i:036d}" for i in range(1000)]
    payloads = notify_payloads(keys)
    assert len(payloads) > 1
    assert all(len(p) < 8000 and channel == RUNS_CHANNEL for channel, p in payloads)
    assert [k for _, p in payloads for k in p.split()] == keys
    assert notify_payloads([]) == []


def test_workers_and_waiters_hear_on_separate_channels() -> None:
    payloads = dict(notify_payloads(["run:1", "done:1", "queue", "cancel:2"]))
    assert payloads == {QUEUE_CHANNEL: "queue cancel:2", RUNS_CHANNEL: "run:1 done:1"}


async def test_the_database_refuses_a_second_running_run_of_a_thread(queue: RunQueue) -> None:
    store = RunStore(queue)
    first = await _enqueue(store, "t")
    second = await _enqueue(store, "t")
    assert (await queue.claim("w")) is not None  # the first run of t is running now
    force = Sql("UPDATE runs SET status = 'running' WHERE run_id = :run_id")
    with pytest.raises(INTEGRITY_ERRORS):
        await queue.db.tx(lambda tx: tx.execute(force, {"run_id": second}))
    assert (await queue.get_run(first)).status == "running"  # type: ignore[union-attr]
    assert (await queue.get_run(second)).status == "pending"  # type: ignore[union-attr]
