"""Assistants: create, update (a new version), delete, search, count, versions, set_latest,
graph and schemas, as the LangGraph API and ``langgraph_sdk`` define them.

A graph id is accepted wherever an assistant id is (it names the graph's system assistant).
The services live in ``server/assistants.py``; these handlers only translate.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from waypost.api.deps import AppServices, Tenant
from waypost.api.schemas import (
    AssistantCreate,
    AssistantLatestBody,
    AssistantPatch,
    AssistantSearch,
    AssistantVersionsBody,
)
from waypost.runtime.errors import ValidationFailed
from waypost.server.serde import to_jsonable

router = APIRouter(prefix="/assistants", tags=["assistants"])

# Keys of ``configurable`` that the server sets itself: not part of an assistant's schema.
_SERVER_KEYS = (
    "__pregel_checkpointer",
    "__pregel_store",
    "checkpoint_id",
    "checkpoint_ns",
    "thread_id",
)


@router.post("")
async def create_assistant(
    body: AssistantCreate, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    """A new assistant (version 1) for a registered graph."""
    created = await services.assistants.create(
        tenant,
        graph_id=body.graph_id,
        assistant_id=body.assistant_id,
        config=body.config,
        context=body.context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
        if_exists=body.if_exists,
    )
    return created.as_json()


@router.post("/search")
async def search_assistants(
    body: AssistantSearch, services: AppServices, tenant: Tenant
) -> JSONResponse:
    """Search assistants, with the LangGraph pagination headers."""
    page = await services.assistants.search(
        tenant,
        metadata=body.metadata,
        graph_id=body.graph_id,
        name=body.name,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )
    items = [a.as_json() for a in page.items]
    if body.select:
        items = [{k: a[k] for k in body.select} for a in items]
    return JSONResponse(items, headers=page.headers())


@router.post("/count")
async def count_assistants(body: AssistantSearch, services: AppServices, tenant: Tenant) -> int:
    return await services.assistants.count(
        tenant, metadata=body.metadata, graph_id=body.graph_id, name=body.name
    )


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, services: AppServices, tenant: Tenant) -> dict[str, Any]:
    return (await services.assistants.get(tenant, assistant_id)).as_json()


@router.patch("/{assistant_id}")
async def update_assistant(
    assistant_id: str, body: AssistantPatch, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    """Append a version with the changes; new runs use it at once."""
    updated = await services.assistants.update(
        tenant,
        assistant_id,
        graph_id=body.graph_id,
        config=body.config,
        context=body.context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
    )
    return updated.as_json()


@router.delete("/{assistant_id}", status_code=204)
async def delete_assistant(
    assistant_id: str, services: AppServices, tenant: Tenant, delete_threads: str = "false"
) -> Response:
    """Delete the assistant, its versions and crons, and cancel its runs in flight;
    ``delete_threads=true`` also deletes the threads it ran on."""
    deleted = await services.assistants.delete(tenant, assistant_id)
    in_flight = await services.store.active_run_ids(assistant_id=deleted)
    if in_flight:
        await services.queue.request_cancel(in_flight)
    if delete_threads.lower() == "true":
        threads = await services.store.search_threads(
            metadata={"assistant_id": deleted}, limit=1_000_000
        )
        for thread in threads:
            await services.store.delete_thread(thread.thread_id)
            await services.checkpointer.adelete_thread(thread.thread_id)
    return Response(status_code=204)


@router.post("/{assistant_id}/versions")
async def list_versions(
    assistant_id: str, body: AssistantVersionsBody, services: AppServices, tenant: Tenant
) -> list[dict[str, Any]]:
    """Every version of the assistant, newest first."""
    versions = await services.assistants.versions(
        tenant, assistant_id, metadata=body.metadata, limit=body.limit, offset=body.offset
    )
    return [v.as_json(with_updated=False) for v in versions]


@router.post("/{assistant_id}/latest")
async def set_latest(
    assistant_id: str, body: AssistantLatestBody, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    """Make a version current again (rollback); new runs use it at once."""
    return (await services.assistants.set_latest(tenant, assistant_id, body.version)).as_json()


def _xray(value: str) -> bool | int:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise ValidationFailed("Invalid xray value")


@router.get("/{assistant_id}/graph")
async def get_assistant_graph(
    assistant_id: str, services: AppServices, tenant: Tenant, xray: str = "false"
) -> dict[str, Any]:
    """Nodes and edges of the compiled graph."""
    depth = _xray(xray)
    assistant = await services.assistants.get(tenant, assistant_id)
    graph = await services.graphs.graph(assistant.graph_id)
    try:
        drawable = await graph.aget_graph(xray=depth)
    except Exception as exc:
        raise ValidationFailed("The graph does not support visualization") from exc
    drawn = dict(to_jsonable(drawable.to_json()))
    for node in drawn.get("nodes", []):
        if isinstance(node.get("data"), dict):
            node["data"].pop("id", None)
    return drawn


@router.get("/{assistant_id}/schemas")
async def get_assistant_schemas(
    assistant_id: str, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    """JSON schemas: the workflow's declared pydantic models win over the graph's own."""
    assistant = await services.assistants.get(tenant, assistant_id)
    spec = services.registry.get(assistant.graph_id)
    graph = await services.graphs.graph(spec.name)

    def _schema(model: Any, method: str) -> Any:
        if model is not None:
            return model.model_json_schema()
        fn = getattr(graph, method, None)
        try:
            return fn() if fn else None
        except Exception:  # some state types have no JSON schema; the SDK accepts null
            return None

    config_schema = _schema(None, "get_config_jsonschema")
    configurable = ((config_schema or {}).get("properties") or {}).get("configurable")
    if isinstance(configurable, dict) and "$ref" in configurable:
        name = configurable["$ref"].rsplit("/", 1)[-1]
        configurable = (config_schema.get("$defs") or {}).get(name)
    if isinstance(configurable, dict):
        configurable = {
            **configurable,
            "properties": {
                k: v
                for k, v in (configurable.get("properties") or {}).items()
                if k not in _SERVER_KEYS
            },
        }
    return {
        "graph_id": spec.name,
        "input_schema": _schema(spec.input_schema, "get_input_jsonschema"),
        "output_schema": _schema(spec.output_schema, "get_output_jsonschema"),
        "state_schema": _schema(None, "get_output_jsonschema"),
        "config_schema": configurable if isinstance(configurable, dict) else None,
        "context_schema": _schema(None, "get_context_jsonschema"),
    }


@router.get("/{assistant_id}/subgraphs")
async def get_assistant_subgraphs(
    assistant_id: str, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    await services.assistants.get(tenant, assistant_id)
    return {}
