"""Shared fixtures. Real network calls are refused: only loopback and unix sockets are allowed."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# The CLI's rich consoles are built at import and wrap at 80 columns without a terminal.
os.environ["COLUMNS"] = "200"
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine
from waypost.runtime.settings import DatabaseSettings, Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_RETAIL = PROJECT_ROOT.parent / "shared" / "retail"
POSTGRES_URL = os.environ.get(
    "WAYPOST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

_real_connect = socket.socket.connect


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # unix socket path
    host = str(address[0])
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise RuntimeError(f"tests may not reach the network (tried {address!r})")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'waypost.db'}"


def _postgres_available() -> bool:
    try:
        engine = create_engine(
            POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"),
            connect_args={"connect_timeout": 3},
        )
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} (CI needs it)")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"waypost_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        postgres_admin_url.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = postgres_admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Parametrised over SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database=DatabaseSettings(url=sqlite_url),
        _env_file=None,  # type: ignore[call-arg]
    )


def migrated(url: str) -> Iterator[Engine]:
    """An engine on the database at ``url``, migrated to head; disposed when the caller ends."""
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh database (SQLite and PostgreSQL), migrated to head."""
    yield from migrated(database_url)
