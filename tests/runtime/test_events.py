"""Event batching: events reach the database within the flush interval, in order, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from waypost.runtime.db import make_async_engine
from waypost.runtime.settings import DatabaseSettings
from waypost.server import RunQueue, RunRequest, RunStore, Signals
from waypost.server.events import EventWriter


@pytest.fixture
async def queue(migrated_engine: Engine, database_url: str) -> AsyncIterator[RunQueue]:
    engine = make_async_engine(DatabaseSettings(url=database_url))
    queue = RunQueue(engine, Signals())
    yield queue
    await queue.close()
    await engine.dispose()


async def _run_id(queue: RunQueue) -> str:
    store = RunStore(queue)
    thread = await store.create_thread(None, {})
    run = await store.create_run(thread.thread_id, RunRequest(assistant_id="g", graph_id="g"))
    return run.run_id


async def test_events_are_flushed_during_the_run_and_the_rest_handed_back(
    queue: RunQueue,
) -> None:
    run_id = await _run_id(queue)
    writer = EventWriter(queue, run_id, first_seq=0, flush_s=0.02)
    for i in range(3):
        await writer.emit("values", {"i": i})
    assert await queue.read_events(run_id, -1) == []  # batched, not one write per event
    for _ in range(100):  # stored within the interval, while the run goes on
        if len(await queue.read_events(run_id, -1)) == 3:
            break
        await asyncio.sleep(0.01)
    await writer.emit("values", {"i": 3})
    rest = await writer.close()
    assert [seq for seq, _, _ in rest] == [3]  # left for the settling transaction
    stored = await queue.read_events(run_id, -1)
    assert [(e.seq, e.data) for e in stored] == [(i, {"i": i}) for i in range(3)]


async def test_close_waits_for_a_write_in_flight(queue: RunQueue) -> None:
    run_id = await _run_id(queue)
    writer = EventWriter(queue, run_id, first_seq=0, flush_s=0)
    await writer.emit("values", {"i": 0})
    await asyncio.sleep(0)  # the flush task starts its write
    await asyncio.sleep(0)
    rest = await writer.close()
    stored = [e.seq for e in await queue.read_events(run_id, -1)]
    assert sorted(stored + [seq for seq, _, _ in rest]) == [0]
