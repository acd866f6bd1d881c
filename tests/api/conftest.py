"""API fixtures: a real uvicorn server over the sample graphs, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from sqlalchemy.engine import Engine
from waypost.api.app import create_app
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphRegistry
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import (
    DatabaseSettings,
    LimitSettings,
    RetrievalSettings,
    Settings,
    WorkerSettings,
)
from waypost.server.identity import IdentityStore

from tests.api.sample_graphs import make_registry
from tests.api.server import serve


def make_settings(database_url: str, **api: object) -> Settings:
    return Settings(
        env="test",
        database=DatabaseSettings(url=database_url),
        worker=WorkerSettings(concurrency=4, heartbeat_s=2, lease_s=10),
        _env_file=None,  # type: ignore[call-arg]
        **({"api": api} if api else {}),
    )


@pytest.fixture
def registry() -> GraphRegistry:
    return make_registry()


def tenants_settings(database_url: str, **api: object) -> Settings:
    """Settings for a served app with real tenants and keys: limits out of the way, the ``hash``
    embedder (no model)."""
    return make_settings(database_url, **api).model_copy(
        update={
            "limits": LimitSettings(requests_per_minute=100_000, runs_per_minute=100_000),
            "retrieval": RetrievalSettings(embedder="hash"),
        }
    )


def migrated_identities(settings: Settings) -> tuple[Engine, IdentityStore]:
    """The migrated app database of ``settings`` and its identity store (no key cache)."""
    engine = make_engine(settings.database)
    migrate(engine)
    return engine, IdentityStore(make_session_factory(engine), cache_s=0)


@pytest.fixture
def server_url(database_url: str, registry: GraphRegistry) -> Iterator[str]:
    app = create_app(make_settings(database_url, max_body_bytes=64_000), registry)
    with serve(app) as url:
        yield url


@pytest.fixture
async def sdk(server_url: str) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=server_url, api_key=None)
    yield client
    await client.http.client.aclose()


@pytest.fixture
async def http(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as client:
        yield client
