"""The official SQLite store's setup, run by several processes at once on one new file."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path

from waypost.runtime.checkpoint import open_async_store


def _set_up(url: str, start: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    async def main() -> None:
        async with open_async_store(url) as store:
            await store.aput(("t",), "k", {"v": 1})

    import langgraph.store.sqlite.aio  # noqa: F401  (imported before the start, not after)

    start.wait()
    asyncio.run(main())


def test_processes_starting_together_all_set_the_store_up(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    for attempt in range(2):
        db = tmp_path / f"store-{attempt}.db"
        sqlite3.connect(db).close()  # the file exists, as after the app's own migrations
        start = context.Event()
        workers = [
            context.Process(target=_set_up, args=(f"sqlite:///{db}", start)) for _ in range(6)
        ]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(60)
        assert [worker.exitcode for worker in workers] == [0] * 6
        with sqlite3.connect(db) as conn:
            versions = [row[0] for row in conn.execute("select v from store_migrations")]
        assert versions == sorted(set(versions))  # every migration applied exactly once
