"""The process-wide services the routes use, built once in the app lifespan.

``Services`` owns the async engine, the official checkpointer, the run queue and store, the
approvals service, compiled graphs and (optionally) the in-process worker pool and the PostgreSQL
LISTEN connection. Routes reach it through ``api.deps``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from sqlalchemy.ext.asyncio import AsyncEngine
from waypost.graphs.plugins import migrate, needs_migration
from waypost.graphs.registry import GraphDeps, GraphRegistry, WorkflowSpec
from waypost.observability.quota import QuotaBook
from waypost.runtime.checkpoint import open_async_checkpointer, open_async_store
from waypost.runtime.db import make_async_engine, make_engine, make_session_factory, sync_url
from waypost.runtime.errors import NotFound
from waypost.runtime.rawsql import RawDB
from waypost.runtime.settings import Settings
from waypost.server import (
    PgListener,
    RunExecutor,
    RunQueue,
    RunStore,
    Signals,
    WorkerPool,
)
from waypost.server.approvals import ApprovalService
from waypost.server.assistants import AssistantStore, system_assistant_id
from waypost.server.crons import CronScheduler, CronStore
from waypost.server.identity import IdentityStore
from waypost.server.ingest import internal_workflows
from waypost.server.quotas import TenantQuotas
from waypost.server.run_hook import make_run_hook, make_usage_factory
from waypost.server.signals import QUEUE_CHANNEL, RUNS_CHANNEL
from waypost.server.store_api import TenantStore

__all__ = ["GraphCache", "Services", "open_services"]


class GraphCache:
    """Compiles each registry workflow once per process with the shared checkpointer.

    With a cross-thread ``store``, a run gets the graph bound to its tenant's view of it
    (``TenantStore``): one shallow copy per graph and tenant, made once. A graph compiled with a
    store of its own keeps it. ``internal`` workflows (the server's own, ``waypost.ingest``)
    resolve by graph id for the runs the server starts but have no assistant; they take
    precedence over a registry workflow of the same name, which could otherwise hijack them.
    """

    def __init__(
        self,
        registry: GraphRegistry,
        deps: GraphDeps,
        store: BaseStore | None = None,
        internal: Iterable[WorkflowSpec] = (),
    ) -> None:
        self.registry = registry
        self.deps = deps
        self.store = store
        self._internal = {spec.name: spec for spec in internal}
        self._graphs: dict[str, Any] = {}
        self._scoped: dict[tuple[str, str], Any] = {}
        self._lock = asyncio.Lock()
        self._by_uuid = {system_assistant_id(n): n for n in registry.names()}

    def spec(self, assistant_id: str) -> WorkflowSpec:
        """The workflow named by a graph id or by its derived assistant uuid."""
        if assistant_id in self._internal:
            return self._internal[assistant_id]
        name = self._by_uuid.get(assistant_id, assistant_id)
        if name not in self.registry:
            raise NotFound(
                f"assistant {assistant_id} not found", details={"available": self.registry.names()}
            )
        return self.registry.get(name)

    async def graph(self, graph_id: str, tenant: str | None = None) -> Any:
        """The compiled graph; with ``tenant``, bound to that tenant's store."""
        if graph_id not in self._graphs:
            async with self._lock:
                if graph_id not in self._graphs:
                    spec = self.spec(graph_id)
                    self._graphs[graph_id] = await asyncio.to_thread(spec.build, self.deps)
        graph = self._graphs[graph_id]
        if tenant is None or self.store is None or getattr(graph, "store", True) is not None:
            return graph
        key = (graph_id, tenant)
        scoped = self._scoped.get(key)
        if scoped is None:
            scoped = graph.copy(update={"store": TenantStore(self.store, tenant)})
            self._scoped[key] = scoped
        return scoped


@dataclass
class Services:
    settings: Settings
    registry: GraphRegistry
    engine: AsyncEngine
    checkpointer: BaseCheckpointSaver[Any]
    signals: Signals
    queue: RunQueue
    store: RunStore
    approvals: ApprovalService
    graphs: GraphCache
    executor: RunExecutor
    assistants: AssistantStore
    item_store: BaseStore  # the official cross-thread store; scope it with TenantStore
    crons: CronStore
    identities: IdentityStore
    quotas: TenantQuotas
    workers: WorkerPool | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def migrate_if_needed(settings: Settings) -> None:
    engine = make_engine(settings.database)
    try:
        if needs_migration(engine):
            migrate(engine)
    finally:
        engine.dispose()


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    registry: GraphRegistry,
    *,
    workers: bool = True,
    concurrency: int | None = None,
    api: bool = True,
) -> AsyncIterator[Services]:
    """Start everything a server (or a standalone worker) needs; stop it all on exit.

    ``api=False`` (``waypost worker``): nothing in the process waits for runs to finish or
    streams their events, so it does not listen for those notifications.
    """
    if settings.database.auto_migrate:
        await asyncio.to_thread(migrate_if_needed, settings)
    async with contextlib.AsyncExitStack() as stack:
        engine = make_async_engine(settings.database)
        stack.push_async_callback(engine.dispose)
        sync_engine = make_engine(settings.database)
        stack.callback(sync_engine.dispose)
        checkpointer = await stack.enter_async_context(
            open_async_checkpointer(settings.database.url)
        )
        signals = Signals()
        queue = RunQueue(engine, signals, settings.worker, db=RawDB(settings.database))
        stack.push_async_callback(queue.close)
        if queue.is_postgres:
            conninfo = sync_url(settings.database.url).replace("postgresql+psycopg", "postgresql")
            channels = ((QUEUE_CHANNEL,) if workers else ()) + ((RUNS_CHANNEL,) if api else ())
            listener = PgListener(conninfo, signals, channels or (QUEUE_CHANNEL,))
            await listener.start()
            stack.push_async_callback(listener.stop)
        deps = GraphDeps(
            settings=settings,
            checkpointer=checkpointer,
            session_factory=make_session_factory(sync_engine),
        )
        item_store = await stack.enter_async_context(open_async_store(settings.database.url))
        graphs = GraphCache(registry, deps, item_store, internal_workflows())
        identities = IdentityStore(
            make_session_factory(sync_engine), cache_s=settings.limits.key_cache_s
        )
        quotas = TenantQuotas(settings, identities, QuotaBook(make_session_factory(sync_engine)))
        executor = RunExecutor(
            queue,
            graphs.graph,
            usage=make_usage_factory(settings, make_session_factory(sync_engine)),
            guards=quotas.guards,
            hook=make_run_hook(settings, make_session_factory(sync_engine)),
        )
        assistants = AssistantStore(queue.db, registry.names())
        await assistants.register_system(registry.specs())
        store = RunStore(queue)
        store.known_graphs = assistants.graph_ids
        services = Services(
            settings=settings,
            registry=registry,
            engine=engine,
            checkpointer=checkpointer,
            signals=signals,
            queue=queue,
            store=store,
            approvals=ApprovalService(queue),
            graphs=graphs,
            executor=executor,
            assistants=assistants,
            item_store=item_store,
            crons=CronStore(queue.db, store, signals),
            identities=identities,
            quotas=quotas,
        )
        if workers:
            pool = WorkerPool(
                queue, executor, concurrency=concurrency or settings.worker.concurrency
            )
            await pool.start()
            stack.push_async_callback(pool.stop)
            services.workers = pool
            services.store.direct = pool  # runs that can start at once skip the claim round
            scheduler = CronScheduler(services.crons, signals, settings.worker.cron_poll_s)
            await scheduler.start()
            stack.push_async_callback(scheduler.stop)
        yield services
