"""The FastAPI app factory: LangGraph-compatible API plus approvals and typed workflow routes.

``create_app(settings, registry)`` builds an app whose lifespan opens the database, the official
checkpointer, the run queue and (unless ``workers=False``) in-process workers. Settings
reach routes through ``api.deps.AppSettings`` (``app.state.settings``), never module globals.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from waypost.api.auth import AuthGate, authorize
from waypost.api.console import install_console, make_session_reader
from waypost.api.custom_auth import CustomAuth
from waypost.api.docs import install_docs
from waypost.api.errors import install_error_handlers
from waypost.api.mcp import McpEndpoint, mcp_router
from waypost.api.middleware import BodySizeLimit, LastResort, TextGuard, UntypedJson
from waypost.api.openapi import install_openapi
from waypost.api.routes import (
    approvals,
    assistants,
    crons,
    runs,
    store,
    system,
    threads,
    unsupported,
    workflows,
)
from waypost.api.routes import collections as collection_routes
from waypost.graphs.registry import GraphRegistry, default_registry
from waypost.observability.metrics import metrics_app
from waypost.observability.tracing import close_tracing
from waypost.runtime.settings import Settings, get_settings
from waypost.server.gauges import refresh_queue_gauges, refresh_quota_gauges
from waypost.server.services import open_services

__all__ = ["create_app"]

INGEST_PATH = re.compile(r"/collections/[^/]+/documents")  # document batches


def create_app(
    settings: Settings | None = None,
    registry: GraphRegistry | None = None,
    *,
    workers: bool = True,
    concurrency: int | None = None,
    auth: Any = None,
) -> FastAPI:
    """Build the API. ``registry`` defaults to the built-in workflows; ``auth`` is a custom
    ``langgraph_sdk.Auth`` (from ``langgraph.json``) that then authenticates every request."""
    settings = settings or get_settings()
    registry = registry if registry is not None else default_registry()

    mcp = McpEndpoint()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_services(settings, registry, workers=workers, concurrency=concurrency) as services,
            mcp.running(),
        ):
            app.state.services = services
            yield
            app.state.services = None
        close_tracing()  # bounded flush of pending trace exports

    app = FastAPI(
        title="Waypost",
        version="0.1.0",
        lifespan=lifespan,
        description="Self-hosted orchestrator for LLM workflows (LangGraph API compatible).",
        docs_url=None,  # served by install_docs with local assets
        redoc_url=None,
        # every route: its access rule, the caller's role, rate, custom handlers, ownership
        dependencies=[Depends(authorize)],
    )
    # on app.state, not in dependency_overrides: any override makes FastAPI re-analyse every
    # dependency of every request
    app.state.settings = settings
    custom = CustomAuth(auth) if auth is not None else None
    app.state.custom_auth = custom
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    # the last added runs first: LastResort around the size limit around the text guard (and
    # the JSON type a proxy dropped)
    app.add_middleware(UntypedJson)
    app.add_middleware(TextGuard)
    api = settings.api
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.api.max_body_bytes,
        larger=[("POST", INGEST_PATH, max(api.max_ingest_body_bytes, api.max_body_bytes))],
    )
    app.add_middleware(LastResort)
    # outside the rest: who calls (401), from which Host (400), how often (429)
    app.add_middleware(
        AuthGate, settings=settings, custom=custom, session_reader=make_session_reader(settings)
    )
    if settings.api.cors_origins:  # outermost: browsers' preflights carry no credential
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials="*" not in settings.api.cors_origins,
            expose_headers=[
                "content-location",
                "location",
                "x-pagination-total",
                "x-pagination-next",
                "retry-after",
            ],
        )
    for module in (
        system,
        assistants,
        threads,
        crons,
        runs,
        store,
        approvals,
        workflows,
        collection_routes,
    ):
        app.include_router(module.router)
    app.include_router(workflows.workflow_router(registry))
    app.include_router(mcp_router(mcp))  # workflows as MCP tools, through the same dependencies
    install_console(app)  # pages at /console (HTML errors there; JSON everywhere else)
    app.include_router(unsupported.router)  # last: a served route always wins

    async def refresh_gauges() -> None:
        services = getattr(app.state, "services", None)
        if services is not None:
            await refresh_queue_gauges(services.queue)
            tenants = [t.tenant for t in await asyncio.to_thread(services.identities.tenants)]
            await refresh_quota_gauges(services.quotas, tenants)

    metrics_route: Any = metrics_app(refresh=refresh_gauges)  # plain ASGI app, routed as one
    app.add_route("/metrics", metrics_route, include_in_schema=False)
    return app
