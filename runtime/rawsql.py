"""Raw-SQL transactions on dedicated threads: the run queue's hot path.

Every HTTP run passes through a handful of short statements (create, claim, settle, read). Through
the async ORM each one costs a statement compile, a greenlet switch and a thread hand-off of the
async driver; together they were most of the API's CPU time per run. Here a transaction is a plain
function over a DB-API cursor that runs on a database thread in one hand-off: the statements are
SQL text written once, with ``:name`` parameters, translated per dialect at import time.

- SQLite: one thread, one connection (WAL, busy timeout, ``synchronous=NORMAL``), autocommit
  single statements and ``BEGIN IMMEDIATE`` around multi-statement writes, so a write never fails
  with a stale read snapshot.
- PostgreSQL: ``pool_size`` threads, each with its own autocommit psycopg connection
  (reconnected when it broke), a connect timeout and a statement timeout; a transaction wraps
  only multi-statement writes.

JSON columns are text on SQLite and ``json`` on PostgreSQL; timestamps are the UTC text SQLAlchemy
writes on SQLite and ``timestamptz`` on PostgreSQL: ``RawDB.json``/``ts`` and ``loads``/``to_dt``
convert both ways, so ORM readers and these writers see the same rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from sqlalchemy.engine import make_url
from waypost.runtime.db import is_sqlite, sync_url
from waypost.runtime.errors import ConfigError, DatabaseError
from waypost.runtime.settings import DatabaseSettings

__all__ = ["INTEGRITY_ERRORS", "RawDB", "Sql", "Tx"]

T = TypeVar("T")
Row = dict[str, Any]
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"
STATEMENT_TIMEOUT_MS = 30_000


# a lost connection or a lock held past the busy timeout
_DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.OperationalError, psycopg.OperationalError)
# a constraint refused the write (both drivers): callers decide whether that is a lost race
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)


def _first_line(exc: BaseException) -> str:
    """The driver's message without its multi-line context (hints, statement text)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Sql:
    """One statement, written with ``:name`` parameters, in both dialects' parameter styles.

    ``pg=``/``sqlite=`` give a dialect its own text where the two differ (locking clauses).
    """

    __slots__ = ("pg", "sqlite")

    def __init__(self, text: str, *, pg: str | None = None, sqlite: str | None = None) -> None:
        self.sqlite: str | None = sqlite if sqlite is not None else text
        self.pg = _PARAM.sub(r"%(\1)s", (pg if pg is not None else text).replace("%", "%%"))

    @classmethod
    def postgres_only(cls, text: str) -> Sql:
        """A statement SQLite cannot run (data-modifying CTEs, ``pg_notify``)."""
        stmt = cls(text)
        stmt.sqlite = None
        return stmt

    def text_for(self, pg: bool) -> str:
        if pg:
            return self.pg
        if self.sqlite is None:
            raise RuntimeError(f"PostgreSQL-only statement run on SQLite: {self.pg[:60]}")
        return self.sqlite

    def __repr__(self) -> str:
        return f"Sql({self.sqlite!r})"


class Tx:
    """The cursor a transaction function gets: execute, fetch rows as dicts, row counts."""

    __slots__ = ("_cursor", "_pg")

    def __init__(self, cursor: Any, pg: bool) -> None:
        self._cursor = cursor
        self._pg = pg

    def execute(self, sql: Sql, params: Mapping[str, Any] | None = None) -> int:
        """Run ``sql``; returns the number of rows it changed."""
        self._cursor.execute(sql.text_for(self._pg), params or {})
        return int(self._cursor.rowcount)

    def executemany(self, sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._cursor.executemany(sql.text_for(self._pg), rows)

    def one(self, sql: Sql, params: Mapping[str, Any] | None = None) -> Row | None:
        self.execute(sql, params)
        row = self._cursor.fetchone()
        self._drain()
        return None if row is None else self._dict(row)

    def all(self, sql: Sql, params: Mapping[str, Any] | None = None) -> list[Row]:
        self.execute(sql, params)
        return [self._dict(r) for r in self._cursor.fetchall()]

    def scalar(self, sql: Sql, params: Mapping[str, Any] | None = None) -> Any:
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    def _dict(self, row: Any) -> Row:
        if self._pg:
            return dict(row)  # dict_row already
        return {d[0]: v for d, v in zip(self._cursor.description, row, strict=True)}

    def _drain(self) -> None:
        if not self._pg:  # finish the statement so SQLite releases it (RETURNING, LIMIT)
            self._cursor.fetchall()


class RawDB:
    """Runs transaction functions on database threads; ``await db.tx(fn)`` -> ``fn(Tx)``."""

    def __init__(self, settings: DatabaseSettings) -> None:
        url = sync_url(settings.url)
        self.is_postgres = not is_sqlite(url)
        self._settings = settings
        self._url = url
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        if not self.is_postgres:
            database = make_url(url).database or ""
            if database in ("", ":memory:"):
                raise ConfigError("the run queue needs a SQLite file, not an in-memory database")
            self._path = database
        workers = settings.pool_size if self.is_postgres else 1
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="waypost-db")
        self._closed = False

    @classmethod
    def for_url(cls, url: str, **overrides: Any) -> RawDB:
        return cls(DatabaseSettings(url=url, **overrides))

    # -- running transactions ------------------------------------------------------------------
    async def tx(self, fn: Callable[[Tx], T], *, write: bool = True) -> T:
        """Run ``fn`` in one transaction on a database thread; commit, or roll back if it raised.

        ``write=False``: no transaction, each statement commits on its own. For single
        statements and independent reads it saves the BEGIN/COMMIT round trips (and on SQLite
        does not take the write lock up front).
        """
        if self._closed:
            raise RuntimeError("database closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, fn, write)

    async def one_statement(self, sql: Sql, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement in its own transaction (autocommit on SQLite); returns row count."""
        return await self.tx(lambda tx: tx.execute(sql, params), write=False)

    def _run(self, fn: Callable[[Tx], T], write: bool) -> T:
        """Run ``fn``; a connection the server dropped is replaced and ``fn`` retried once.

        A connection killed while idle (database restart, ``pg_terminate_backend``, a proxy
        timeout) fails its next statement before the server ran it, so the retry neither
        repeats nor loses work; without it every thread's first transaction after a restart
        would fail. A second failure, or one on a live connection, is the caller's
        ``DatabaseError`` (HTTP 503 ``database_error``).
        """
        for attempt in (1, 2):
            conn = None
            try:
                conn = self._connection()
                return self._run_on(conn, fn, write)
            except _DB_ERRORS as exc:
                if attempt == 1 and conn is not None and self._lost(conn):
                    self._discard(conn)
                    continue
                raise DatabaseError(f"database unavailable: {_first_line(exc)}") from exc
        raise AssertionError("unreachable")

    def _lost(self, conn: Any) -> bool:
        return bool(self.is_postgres and (conn.closed or conn.broken))

    def _discard(self, conn: Any) -> None:
        self._local.conn = None
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        with contextlib.suppress(Exception):
            conn.close()

    def _run_on(self, conn: Any, fn: Callable[[Tx], T], write: bool) -> T:
        if self.is_postgres:  # autocommit connection: BEGIN/COMMIT only around writes
            if not write:
                with conn.cursor() as cur:
                    return fn(Tx(cur, True))
            with conn.transaction(), conn.cursor() as cur:
                return fn(Tx(cur, True))
        cur = conn.cursor()
        try:
            if write:
                cur.execute("BEGIN IMMEDIATE")
            result = fn(Tx(cur, False))
            if conn.in_transaction:
                conn.commit()
            return result
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        finally:
            cur.close()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not (self.is_postgres and (conn.closed or conn.broken)):
            return conn
        conn = self._connect_pg() if self.is_postgres else self._connect_sqlite()
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _connect_sqlite(self) -> sqlite3.Connection:
        busy_ms = self._settings.sqlite_busy_timeout_ms
        conn = sqlite3.connect(
            self._path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _connect_pg(self) -> Any:
        from psycopg.rows import dict_row

        conninfo = make_url(self._url).set(drivername="postgresql")
        return psycopg.connect(
            conninfo.render_as_string(hide_password=False),
            connect_timeout=10,
            row_factory=dict_row,
            autocommit=True,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )

    async def close(self) -> None:
        """Finish running transactions, then close every connection."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    # -- values in and out ---------------------------------------------------------------------
    def json(self, value: Any) -> Any:
        """A JSON column parameter (None stays SQL NULL)."""
        if value is None:
            return None
        if self.is_postgres:
            from psycopg.types.json import Json

            return Json(value)
        return json.dumps(value)

    def loads(self, value: Any) -> Any:
        """A JSON column value as Python."""
        if value is None or self.is_postgres:
            return value
        return json.loads(value)

    def ts(self, moment: dt.datetime | None) -> Any:
        """A timestamp parameter (UTC)."""
        if moment is None or self.is_postgres:
            return moment
        return moment.astimezone(dt.UTC).strftime(_SQLITE_TS)

    def to_dt(self, value: Any) -> dt.datetime | None:
        """A timestamp column value as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)
