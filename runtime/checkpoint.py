"""LangGraph checkpointers and stores on the app database: the official ones, nothing home-made.

SQLite -> ``SqliteSaver`` / ``AsyncSqliteSaver`` on the same file; PostgreSQL ->
``PostgresSaver`` / ``AsyncPostgresSaver`` on the same database. ``setup()`` runs once per
process per database (it creates the saver's own tables idempotently).

The asyncio PostgreSQL saver runs on a small connection pool rather than the one connection
``AsyncPostgresSaver.from_conn_string`` opens, so a dropped connection is replaced rather than
failing every later checkpoint. (The saver still runs one operation at a time per instance,
behind its own lock; per process that is not the limit: the in-process floor of
``bench/api_throughput.py`` makes 140-160 runs/s through one instance, twice what the process
itself can feed it.)

The cross-thread store (``BaseStore``, what nodes reach with ``get_store()``/``runtime.store``)
is likewise the official one: ``AsyncSqliteStore`` on the same SQLite file or
``AsyncPostgresStore`` on the same database, with its own tables (``store``,
``store_migrations``). ``index`` is the semantic-search hook: an ``IndexConfig`` (dims, embed,
fields) turns on vector search in the official store; nothing passes one yet.
"""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url
from waypost.runtime.db import is_sqlite, sync_url

__all__ = [
    "ASYNC_PG_POOL_SIZE",
    "STORE_PG_POOL_SIZE",
    "open_async_checkpointer",
    "open_async_store",
    "open_checkpointer",
    "sqlite_path",
]

ASYNC_PG_POOL_SIZE = 8
STORE_PG_POOL_SIZE = 4
STORE_SWEEP_MINUTES = 5


def sqlite_path(url: str) -> str:
    database = make_url(sync_url(url)).database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return database


def _pg_conninfo(url: str) -> str:
    return (
        make_url(sync_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
    )


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    """A synchronous official saver for ``url``, set up and closed on exit."""
    if is_sqlite(url):
        from langgraph.checkpoint.sqlite import SqliteSaver

        conn = sqlite3.connect(sqlite_path(url), check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        try:
            saver = SqliteSaver(conn)
            saver.setup()
            yield saver
        finally:
            conn.close()
        return
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(_pg_conninfo(url)) as pg_saver:
        pg_saver.setup()
        yield pg_saver


@asynccontextmanager
async def open_async_checkpointer(url: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """An asyncio official saver for ``url``, set up and closed on exit."""
    if is_sqlite(url):
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(sqlite_path(url)) as saver:
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        _pg_conninfo(url),
        min_size=1,
        max_size=ASYNC_PG_POOL_SIZE,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        # a pooled connection the server dropped (restart, killed backends) is replaced at
        # checkout instead of failing the run's next checkpoint write
        check=AsyncConnectionPool.check_connection,
        open=False,
    )
    await pool.open(wait=True)
    try:
        pg_saver = AsyncPostgresSaver(pool)
        await pg_saver.setup()
        yield pg_saver
    finally:
        await pool.close()


@asynccontextmanager
async def _one_setup_at_a_time(db_path: str) -> AsyncIterator[None]:
    """Serialise the SQLite store's setup across processes with an exclusive ``flock``.

    The official setup reads the applied migrations, then runs ``ALTER TABLE``: two processes
    starting on one file at once can both add the same column ("duplicate column name"). The lock
    is taken on a sibling file (``<db>-setup.lock``), never on the database itself: closing any
    descriptor of the database file would drop the POSIX record locks SQLite holds on it in this
    process.
    """
    if db_path == ":memory:" or db_path.startswith("file::memory:"):
        yield
        return
    lock_path = Path(f"{db_path}-setup.lock")
    with lock_path.open("a") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@asynccontextmanager
async def open_async_store(url: str, *, index: Any = None) -> AsyncIterator[Any]:
    """The official asyncio ``BaseStore`` for ``url``, set up and closed on exit.

    ``index``: a LangGraph ``IndexConfig`` for semantic search (None: key/filter search only).
    Items put with a ``ttl`` (minutes) expire; reads refresh it, and the store's own sweeper
    deletes expired items every ``STORE_SWEEP_MINUTES``.
    """
    ttl: Any = {"refresh_on_read": True, "sweep_interval_minutes": STORE_SWEEP_MINUTES}
    if is_sqlite(url):
        from langgraph.store.sqlite.aio import AsyncSqliteStore

        async with AsyncSqliteStore.from_conn_string(
            sqlite_path(url), index=index, ttl=ttl
        ) as store:
            async with _one_setup_at_a_time(sqlite_path(url)):
                await store.setup()
            await store.start_ttl_sweeper()
            try:
                yield store
            finally:
                await store.stop_ttl_sweeper(timeout=5)
        return
    from langgraph.store.postgres.aio import AsyncPostgresStore
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        _pg_conninfo(url),
        min_size=1,
        max_size=STORE_PG_POOL_SIZE,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=False,
    )
    await pool.open(wait=True)
    try:
        pg_store = AsyncPostgresStore(pool, index=index, ttl=ttl)
        await pg_store.setup()
        await pg_store.start_ttl_sweeper()
        try:
            yield pg_store
        finally:
            await pg_store.stop_ttl_sweeper(timeout=5)
    finally:
        await pool.close()
