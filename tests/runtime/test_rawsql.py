"""Raw-SQL transactions on database threads: dialect translation, atomicity, ORM compatibility."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from waypost.runtime.db import make_engine
from waypost.runtime.errors import ConfigError, DatabaseError
from waypost.runtime.rawsql import RawDB, Sql, Tx
from waypost.runtime.settings import DatabaseSettings
from waypost.server import sql
from waypost.server.models import Thread
from waypost.server.sql import thread_from_row


@pytest.fixture
async def db(migrated_engine: Engine, database_url: str) -> AsyncIterator[RawDB]:
    raw = RawDB.for_url(database_url)
    yield raw
    await raw.close()


def test_parameters_are_translated_per_dialect_and_casts_survive() -> None:
    stmt = Sql("SELECT :a::text, x FROM t WHERE y LIKE 'a%' AND z = :b_2")
    assert stmt.sqlite == "SELECT :a::text, x FROM t WHERE y LIKE 'a%' AND z = :b_2"
    assert stmt.pg == "SELECT %(a)s::text, x FROM t WHERE y LIKE 'a%%' AND z = %(b_2)s"


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ConfigError, match="SQLite file"):
        RawDB.for_url("sqlite:///:memory:")


async def test_a_transaction_that_raises_leaves_nothing(db: RawDB) -> None:
    now = dt.datetime.now(dt.UTC)

    def insert_then_fail(tx: Tx) -> None:
        params = {"thread_id": "t1", "tenant": "x", "metadata": db.json({}), "now": db.ts(now)}
        assert tx.execute(sql.INSERT_THREAD, params) == 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await db.tx(insert_then_fail)
    found = await db.tx(lambda tx: tx.one(sql.GET_THREAD, {"thread_id": "t1"}), write=False)
    assert found is None


async def test_rows_written_raw_read_back_through_the_orm_and_vice_versa(
    db: RawDB, migrated_engine: Engine
) -> None:
    now = dt.datetime(2026, 11, 26, 12, 30, 5, 123456, tzinfo=dt.UTC)
    meta = {"k": ["v", 1, None], "ünï": "códe"}
    params = {"thread_id": "raw", "tenant": "acme", "metadata": db.json(meta), "now": db.ts(now)}
    assert await db.one_statement(sql.INSERT_THREAD, params) == 1
    assert await db.one_statement(sql.INSERT_THREAD, params) == 0  # ON CONFLICT DO NOTHING

    with Session(migrated_engine) as session:
        orm = session.get(Thread, "raw")
        assert orm is not None
        assert orm.meta == meta and orm.tenant == "acme"
        assert orm.created_at.replace(tzinfo=dt.UTC) == now
        session.add(
            Thread(
                thread_id="orm",
                tenant="acme",
                status="idle",
                meta={"from": "orm"},
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()

    row = await db.tx(lambda tx: tx.one(sql.GET_THREAD, {"thread_id": "orm"}), write=False)
    assert row is not None
    thread = thread_from_row(db, row)
    assert thread.meta == {"from": "orm"}
    assert thread.created_at == now


@pytest.mark.postgres
async def test_a_broken_postgres_connection_is_replaced(postgres_url: str) -> None:
    """A connection the server killed while idle is replaced and the transaction retried once."""
    db = RawDB.for_url(postgres_url, pool_size=1)
    admin = make_engine(DatabaseSettings(url=postgres_url))
    backend = Sql("SELECT pg_backend_pid() AS pid")
    try:
        pid = await db.tx(lambda tx: tx.scalar(backend))
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        assert await db.tx(lambda tx: tx.scalar(Sql("SELECT 1 AS one"))) == 1
        assert await db.tx(lambda tx: tx.scalar(backend)) != pid  # on a new connection
    finally:
        await db.close()
        admin.dispose()


@pytest.mark.postgres
async def test_a_database_that_stays_away_is_a_database_error(postgres_url: str) -> None:
    """No endless retry: a second failure is the caller's ``DatabaseError``, named plainly."""
    db = RawDB.for_url(postgres_url.rsplit("/", 1)[0] + "/no_such_database", pool_size=1)
    try:
        with pytest.raises(DatabaseError, match="database unavailable") as caught:
            await db.tx(lambda tx: tx.scalar(Sql("SELECT 1 AS one")))
        assert "\n" not in caught.value.message
    finally:
        await db.close()


async def test_a_postgres_only_statement_is_refused_on_sqlite(sqlite_url: str) -> None:
    db = RawDB.for_url(sqlite_url)
    try:
        with pytest.raises(RuntimeError, match="PostgreSQL-only"):
            await db.tx(lambda tx: tx.execute(sql.NOTIFY, {"channel": "c", "keys": "k"}))
    finally:
        await db.close()
