"""Assistants: a graph plus its configuration, versioned; what every run names and runs with.

An assistant row holds its current version's values (graph, ``config``, ``context``, metadata,
name, description); ``assistant_versions`` keeps every version. An update appends version
``max + 1`` and makes it current; ``set_latest`` points the assistant back at any version, which
is the rollback path: a run takes the current version's configuration in the transaction that
creates it (``merge_run_config``) and records the version number.

Each registered graph has a system assistant whose id is the one the LangGraph server derives,
``uuid5(NAMESPACE_GRAPH, graph_id)``, so clients that compute or stored those ids find ours; a
graph id is accepted wherever an assistant id is. System assistants are shared by every tenant
(tenant ``*``); only the default tenant may change them. Every other assistant belongs to the
tenant that created it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from waypost.graphs.registry import WorkflowSpec
from waypost.runtime.errors import ConfigError, Conflict, NotFound, ValidationFailed
from waypost.runtime.models import utcnow
from waypost.runtime.rawsql import INTEGRITY_ERRORS, RawDB, Sql, Tx
from waypost.server.serde import iso, json_contains

__all__ = [
    "DEFAULT_TENANT",
    "NAMESPACE_GRAPH",
    "SHARED_TENANT",
    "Assistant",
    "AssistantStore",
    "Page",
    "merge_run_config",
    "system_assistant_id",
]

NAMESPACE_GRAPH = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")  # langgraph-api, Aegra
SHARED_TENANT = "*"
DEFAULT_TENANT = "default"
SORTABLE = ("assistant_id", "created_at", "updated_at", "name", "graph_id")
SELECTABLE = frozenset(
    {
        "assistant_id",
        "graph_id",
        "name",
        "description",
        "config",
        "context",
        "created_at",
        "updated_at",
        "metadata",
        "version",
    }
)


def system_assistant_id(graph_id: str) -> str:
    """The id the LangGraph server gives a graph's default assistant."""
    return str(uuid.uuid5(NAMESPACE_GRAPH, graph_id))


@dataclass
class Assistant:
    assistant_id: str
    tenant: str
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    version: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None = None

    def as_json(self, *, with_updated: bool = True) -> dict[str, Any]:
        """The LangGraph ``Assistant`` (or, without ``updated_at``, ``AssistantVersion``)."""
        body = {
            "assistant_id": self.assistant_id,
            "graph_id": self.graph_id,
            "config": self.config,
            "context": self.context,
            "metadata": self.metadata,
            "version": self.version,
            "name": self.name,
            "description": self.description,
            "created_at": iso(self.created_at),
        }
        if with_updated:
            body["updated_at"] = iso(self.updated_at)
        return body


@dataclass
class Page:
    """One page of a search: the items and whether more follow (the pagination headers)."""

    items: list[Any]
    offset: int
    limit: int
    more: bool

    def headers(self) -> dict[str, str]:
        """``X-Pagination-Total``/``-Next`` as the LangGraph server computes them."""
        if self.more:
            nxt = self.offset + self.limit
            return {"X-Pagination-Next": str(nxt), "X-Pagination-Total": str(nxt + 1)}
        return {"X-Pagination-Total": str(self.offset + len(self.items))}


def merge_run_config(
    assistant_config: dict[str, Any],
    assistant_context: dict[str, Any],
    config: dict[str, Any],
    context: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A run's config and context: the assistant's, overridden key by key by the run's own."""
    merged = {**assistant_config, **config}
    configurable = {
        **(assistant_config.get("configurable") or {}),
        **(config.get("configurable") or {}),
    }
    if configurable:
        merged["configurable"] = configurable
    tags = [*(assistant_config.get("tags") or []), *(config.get("tags") or [])]
    if tags:
        merged["tags"] = list(dict.fromkeys(tags))
    ctx = {**assistant_context, **(context or {})}
    return merged, (ctx or None)


def _synced(
    config: dict[str, Any] | None, context: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``config.configurable`` and ``context`` are one thing given twice (LangGraph keeps them
    in sync): either may be given, not both."""
    if config is not None and not isinstance(config, dict):
        raise ValidationFailed("config must be an object")
    configurable = (config or {}).get("configurable")
    if configurable is not None and not isinstance(configurable, dict):
        raise ValidationFailed("config.configurable must be an object")
    if configurable and context is not None:
        raise ValidationFailed(
            "cannot specify both configurable and context; prefer context "
            "(configurable is kept in sync with it)"
        )
    if configurable:
        _check_routing(configurable)
        return config, dict(configurable)
    if context is not None:
        _check_routing(context)
        return {**(config or {}), "configurable": dict(context)}, context
    return config, None


def _check_routing(configurable: dict[str, Any]) -> None:
    """An assistant's ``routing`` (per-step models, ``agents.routing``) must parse: a bad one
    is refused when the assistant is saved, not when a run reaches a model step."""
    if "routing" not in configurable:
        return
    from waypost.agents.routing import parse_routing

    try:
        parse_routing(configurable["routing"], source="config.configurable.routing")
    except ConfigError as exc:
        raise ValidationFailed(exc.message) from exc


# -- statements -----------------------------------------------------------------------------------
_VISIBLE = "tenant IN (:tenant, '*')"
GET = Sql(f"SELECT * FROM assistants WHERE assistant_id = :assistant_id AND {_VISIBLE}")
_COLUMNS = "graph_id, name, description, config, context, metadata"
_VALUES = ":graph_id, :name, :description, :config, :context, :metadata"
INSERT = Sql(
    f"INSERT INTO assistants (assistant_id, tenant, {_COLUMNS}, version, created_at, updated_at) "
    f"VALUES (:assistant_id, :tenant, {_VALUES}, :version, :now, :now) "
    "ON CONFLICT (assistant_id) DO NOTHING"
)
INSERT_VERSION = Sql(
    f"INSERT INTO assistant_versions (assistant_id, version, tenant, {_COLUMNS}, created_at) "
    f"VALUES (:assistant_id, :version, :tenant, {_VALUES}, :now) "
    "ON CONFLICT (assistant_id, version) DO NOTHING"
)
INSERT_NEW_VERSION = Sql(  # a PATCH: a concurrent one taking the same number must fail
    f"INSERT INTO assistant_versions (assistant_id, version, tenant, {_COLUMNS}, created_at) "
    f"VALUES (:assistant_id, :version, :tenant, {_VALUES}, :now)"
)
MAX_VERSION = Sql(
    "SELECT max(version) AS v FROM assistant_versions WHERE assistant_id = :assistant_id"
)
SET_CURRENT = Sql(
    "UPDATE assistants SET graph_id = :graph_id, name = :name, description = :description, "
    "config = :config, context = :context, metadata = :metadata, version = :version, "
    "updated_at = :now WHERE assistant_id = :assistant_id"
)
GET_VERSION = Sql(
    "SELECT * FROM assistant_versions WHERE assistant_id = :assistant_id AND version = :version"
)
LIST_VERSIONS = Sql(
    "SELECT * FROM assistant_versions WHERE assistant_id = :assistant_id ORDER BY version DESC"
)
DELETE = Sql("DELETE FROM assistants WHERE assistant_id = :assistant_id")
DELETE_VERSIONS = Sql("DELETE FROM assistant_versions WHERE assistant_id = :assistant_id")
DELETE_CRONS = Sql("DELETE FROM crons WHERE assistant_id = :assistant_id")
_SEARCH = f"SELECT * FROM assistants WHERE {_VISIBLE}"


class AssistantStore:
    """Assistant rows and versions for one registry of graphs; every method takes the tenant."""

    def __init__(self, db: RawDB, graph_ids: Collection[str]) -> None:
        self.db = db
        self.graph_ids = frozenset(graph_ids)

    # -- ids ------------------------------------------------------------------------------------
    def resolve_id(self, assistant_id: str) -> str:
        """A graph id maps to its system assistant; anything else must be a UUID."""
        if assistant_id in self.graph_ids:
            return system_assistant_id(assistant_id)
        try:
            return str(uuid.UUID(str(assistant_id)))
        except ValueError:
            raise NotFound(
                f"assistant {assistant_id!r} not found: not a UUID nor a graph id",
                details={"available": sorted(self.graph_ids)},
            ) from None

    def _check_graph(self, graph_id: str) -> None:
        if graph_id not in self.graph_ids:
            raise NotFound(
                f"Graph '{graph_id}' not found. Expected one of: {sorted(self.graph_ids)}",
                details={"available": sorted(self.graph_ids)},
            )

    def _params(self, tenant: str, **values: Any) -> dict[str, Any]:
        db = self.db
        params = {"tenant": tenant, "now": db.ts(utcnow()), **values}
        for key in ("config", "context", "metadata"):
            if key in params:
                params[key] = db.json(params[key] or {})
        return params

    def _row(self, row: dict[str, Any] | None) -> Assistant | None:
        if row is None:
            return None
        db = self.db
        return Assistant(
            assistant_id=row["assistant_id"],
            tenant=row["tenant"],
            graph_id=row["graph_id"],
            name=row["name"],
            description=row["description"],
            config=db.loads(row["config"]) or {},
            context=db.loads(row["context"]) or {},
            metadata=db.loads(row["metadata"]) or {},
            version=int(row["version"]),
            created_at=db.to_dt(row["created_at"]),
            updated_at=db.to_dt(row["updated_at"]) if "updated_at" in row else None,
        )

    # -- system assistants ------------------------------------------------------------------------
    async def register_system(self, specs: Sequence[WorkflowSpec]) -> None:
        """One shared assistant per graph, created once (version 1) and then left as it is."""

        def register(tx: Tx) -> None:
            for spec in specs:
                params = self._params(
                    SHARED_TENANT,
                    assistant_id=system_assistant_id(spec.name),
                    graph_id=spec.name,
                    name=spec.name,
                    description=spec.description,
                    config={},
                    context={},
                    metadata={"created_by": "system", **spec.metadata},
                    version=1,
                )
                if tx.execute(INSERT, params) == 1:
                    tx.execute(INSERT_VERSION, params)

        await self.db.tx(register)

    # -- reads ----------------------------------------------------------------------------------
    async def get(self, tenant: str, assistant_id: str) -> Assistant:
        """The assistant (by id or graph id) as the tenant sees it; 404 if its graph is not here."""
        aid = self.resolve_id(assistant_id)
        row = await self.db.tx(
            lambda tx: tx.one(GET, {"assistant_id": aid, "tenant": tenant}), write=False
        )
        found = self._row(row)
        if found is None or found.graph_id not in self.graph_ids:
            raise NotFound(f"assistant {assistant_id} not found")
        return found

    async def search(
        self,
        tenant: str,
        *,
        metadata: dict[str, Any] | None = None,
        graph_id: str | None = None,
        name: str | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> Page:
        """Assistants of registered graphs, filtered (metadata by containment) and sorted."""
        if graph_id is not None:
            self._check_graph(graph_id)
        column = sort_by if sort_by in SORTABLE else "created_at"
        if column in ("name", "graph_id"):
            column = f"lower({column})"
        direction = "ASC" if sort_order == "asc" else "DESC"
        where, params = _SEARCH, {"tenant": tenant}
        if graph_id is not None:
            where += " AND graph_id = :graph_id"
            params["graph_id"] = graph_id
        if name:
            where += " AND lower(name) LIKE :name"
            params["name"] = f"%{name.lower()}%"
        stmt = Sql(f"{where} ORDER BY {column} {direction}, assistant_id")
        rows = await self.db.tx(lambda tx: tx.all(stmt, params), write=False)
        found = [a for a in map(self._row, rows) if a is not None and a.graph_id in self.graph_ids]
        if metadata:
            found = [a for a in found if json_contains(a.metadata, metadata)]
        page = found[offset : offset + limit]
        return Page(page, offset, limit, more=offset + limit < len(found))

    async def count(
        self,
        tenant: str,
        *,
        metadata: dict[str, Any] | None = None,
        graph_id: str | None = None,
        name: str | None = None,
    ) -> int:
        page = await self.search(
            tenant, metadata=metadata, graph_id=graph_id, name=name, limit=1_000_000
        )
        return len(page.items)

    async def versions(
        self,
        tenant: str,
        assistant_id: str,
        *,
        metadata: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Assistant]:
        """Every version, newest first (404 when the assistant is unknown to the tenant)."""
        current = await self.get(tenant, assistant_id)
        rows = await self.db.tx(
            lambda tx: tx.all(LIST_VERSIONS, {"assistant_id": current.assistant_id}),
            write=False,
        )
        versions = [v for v in map(self._row, rows) if v is not None]
        if metadata:
            versions = [v for v in versions if json_contains(v.metadata, metadata)]
        if not versions:
            raise NotFound(f"no versions found for assistant {assistant_id}")
        return versions[offset : offset + limit]

    # -- writes ---------------------------------------------------------------------------------
    def _writable(self, tenant: str, found: Assistant) -> None:
        if found.tenant == SHARED_TENANT and tenant != DEFAULT_TENANT:
            raise NotFound(f"assistant {found.assistant_id} not found")

    async def create(
        self,
        tenant: str,
        *,
        graph_id: str,
        assistant_id: str | None = None,
        config: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        if_exists: str = "raise",
    ) -> Assistant:
        """A new assistant at version 1 (``if_exists="do_nothing"``: the existing one)."""
        self._check_graph(graph_id)
        if assistant_id is not None:
            try:
                aid = str(uuid.UUID(str(assistant_id)))
            except ValueError:
                raise ValidationFailed("Invalid assistant ID: must be a UUID") from None
        else:
            aid = str(uuid.uuid4())
        config, context = _synced(config, context)
        params = self._params(
            tenant,
            assistant_id=aid,
            graph_id=graph_id,
            name=name or "Untitled",
            description=description,
            config=config or {},
            context=context or {},
            metadata=metadata or {},
            version=1,
        )

        def insert(tx: Tx) -> bool:
            if tx.execute(INSERT, params) != 1:
                return False
            tx.execute(INSERT_VERSION, params)
            return True

        if not await self.db.tx(insert):
            if if_exists == "do_nothing":
                try:
                    return await self.get(tenant, aid)
                except NotFound:
                    pass  # another tenant's id: that is a conflict, not a lookup
            raise Conflict(f"Assistant {aid} already exists")
        return await self.get(tenant, aid)

    async def update(
        self,
        tenant: str,
        assistant_id: str,
        *,
        graph_id: str | None = None,
        config: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Assistant:
        """Append a version (``max + 1``) with the changes and make it current.

        ``config`` replaces the old one when non-empty, ``context`` when given; ``metadata`` is
        merged key by key; ``name``/``description``/``graph_id`` replace when given.
        """
        if graph_id is not None:
            self._check_graph(graph_id)
        config, context = _synced(config, context)
        for _ in range(5):  # a concurrent update took our version number: read again
            current = await self.get(tenant, assistant_id)
            self._writable(tenant, current)
            new_config = config if config else current.config
            new_context = context if context is not None else current.context
            values = self._params(
                current.tenant,
                assistant_id=current.assistant_id,
                graph_id=graph_id or current.graph_id,
                name=name if name is not None else current.name,
                description=description if description is not None else current.description,
                config=new_config,
                context=new_context,
                metadata={**current.metadata, **(metadata or {})},
            )

            def append(tx: Tx, values: dict[str, Any] = values) -> None:
                latest = tx.scalar(MAX_VERSION, {"assistant_id": values["assistant_id"]}) or 0
                values["version"] = int(latest) + 1
                tx.execute(INSERT_NEW_VERSION, values)
                tx.execute(SET_CURRENT, values)

            try:
                await self.db.tx(append)
            except INTEGRITY_ERRORS:
                continue
            return await self.get(tenant, current.assistant_id)
        raise Conflict(f"assistant {assistant_id} is being updated concurrently; retry")

    async def set_latest(self, tenant: str, assistant_id: str, version: int) -> Assistant:
        """Make an earlier (or later) version current again: the rollback path."""
        current = await self.get(tenant, assistant_id)
        self._writable(tenant, current)
        aid = current.assistant_id

        def point(tx: Tx) -> bool:
            row = tx.one(GET_VERSION, {"assistant_id": aid, "version": version})
            if row is None:
                return False
            chosen = self._row({**row, "updated_at": None})
            assert chosen is not None
            params = self._params(
                current.tenant,
                assistant_id=aid,
                graph_id=chosen.graph_id,
                name=chosen.name,
                description=chosen.description,
                config=chosen.config,
                context=chosen.context,
                metadata=chosen.metadata,
                version=version,
            )
            tx.execute(SET_CURRENT, params)
            return True

        if not await self.db.tx(point):
            raise NotFound(f"Version {version} not found for assistant {aid}")
        return await self.get(tenant, aid)

    async def delete(self, tenant: str, assistant_id: str) -> str:
        """Delete the assistant, its versions and its crons; returns its id."""
        current = await self.get(tenant, assistant_id)
        self._writable(tenant, current)
        params = {"assistant_id": current.assistant_id}

        def delete(tx: Tx) -> None:
            tx.execute(DELETE_CRONS, params)
            tx.execute(DELETE_VERSIONS, params)
            tx.execute(DELETE, params)

        await self.db.tx(delete)
        return current.assistant_id
