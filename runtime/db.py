"""Database engines and sessions for SQLite (embedded default) and PostgreSQL (psycopg 3).

SQLite connections get WAL journaling, a busy timeout and foreign keys on every connect, so
the API, in-process workers and the CLI can share one file, and the SQL functions
``runtime.sqlfuncs`` compiles to on SQLite. URLs may be written the short way
(``postgresql://``); they are normalised to the psycopg 3 driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import DatabaseSettings
from waypost.runtime.sqlfuncs import register_sqlite_functions

__all__ = [
    "Base",
    "async_url",
    "is_sqlite",
    "make_async_engine",
    "make_async_session_factory",
    "make_engine",
    "make_session_factory",
    "session_scope",
    "sync_url",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def sync_url(url: str) -> str:
    """The URL with a synchronous driver: ``sqlite`` or ``postgresql+psycopg``."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ConfigError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def async_url(url: str) -> str:
    """The URL with an asyncio driver: ``sqlite+aiosqlite`` or ``postgresql+psycopg``."""
    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(sync_url(url)).get_backend_name() == "sqlite"


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        register_sqlite_functions(dbapi_conn)

    return on_connect


def make_engine(settings: DatabaseSettings) -> Engine:
    """A synchronous engine for the configured database."""
    url = sync_url(settings.url)
    if is_sqlite(url):
        engine = create_engine(
            url,
            echo=settings.echo,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
        )
        event.listen(engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms))
        return engine
    return create_engine(
        url,
        echo=settings.echo,
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10},
    )


def make_async_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An asyncio engine for the configured database (used by the API and workers)."""
    url = async_url(settings.url)
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=settings.echo,
            connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
        )
        event.listen(
            engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_busy_timeout_ms)
        )
        return engine
    return create_async_engine(
        url,
        echo=settings.echo,
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10},
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_async_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
