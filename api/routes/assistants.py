"""Assistants: every registry workflow is one assistant (graph id or derived uuid as its id)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from waypost.api.deps import AppServices
from waypost.api.schemas import AssistantSearch
from waypost.api.views import assistant_json
from waypost.server.serde import to_jsonable
from waypost.server.services import assistant_uuid

router = APIRouter(prefix="/assistants", tags=["assistants"])


def _all(services: AppServices) -> list[dict[str, Any]]:
    return [assistant_json(s, assistant_uuid(s.name)) for s in services.registry.specs()]


def _matches(item: dict[str, Any], body: AssistantSearch) -> bool:
    if body.graph_id and item["graph_id"] != body.graph_id:
        return False
    if body.name and body.name.lower() not in item["name"].lower():
        return False
    meta = item["metadata"]
    return all(meta.get(k) == v for k, v in (body.metadata or {}).items())


@router.post("/search")
async def search_assistants(
    body: AssistantSearch, services: AppServices, response: Response
) -> list[dict[str, Any]]:
    """Search the registry's workflows (the SDK's ``assistants.search``)."""
    items = [a for a in _all(services) if _matches(a, body)]
    key = body.sort_by if body.sort_by in {"name", "graph_id", "assistant_id"} else "name"
    items.sort(key=lambda a: str(a[key]), reverse=body.sort_order == "desc")
    page = items[body.offset : body.offset + body.limit]
    if body.offset + body.limit < len(items):
        response.headers["X-Pagination-Next"] = str(body.offset + body.limit)
    if body.select:
        page = [{k: a[k] for k in body.select if k in a} for a in page]
    return page


@router.post("/count")
async def count_assistants(body: AssistantSearch, services: AppServices) -> int:
    return sum(1 for a in _all(services) if _matches(a, body))


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, services: AppServices) -> dict[str, Any]:
    spec = services.graphs.spec(assistant_id)
    return assistant_json(spec, assistant_uuid(spec.name))


@router.get("/{assistant_id}/graph")
async def get_assistant_graph(
    assistant_id: str, services: AppServices, xray: int | bool = False
) -> dict[str, Any]:
    """Nodes and edges of the compiled graph."""
    graph = await services.graphs.graph(services.graphs.spec(assistant_id).name)
    drawable = await graph.aget_graph(xray=xray)
    return dict(to_jsonable(drawable.to_json()))


@router.get("/{assistant_id}/schemas")
async def get_assistant_schemas(assistant_id: str, services: AppServices) -> dict[str, Any]:
    """JSON schemas: the workflow's declared pydantic models win over the graph's own."""
    spec = services.graphs.spec(assistant_id)
    graph = await services.graphs.graph(spec.name)

    def _schema(model: Any, method: str) -> Any:
        if model is not None:
            return model.model_json_schema()
        fn = getattr(graph, method, None)
        try:
            return fn() if fn else None
        except Exception:  # some state types have no JSON schema; the SDK accepts null
            return None

    return {
        "graph_id": spec.name,
        "input_schema": _schema(spec.input_schema, "get_input_jsonschema"),
        "output_schema": _schema(spec.output_schema, "get_output_jsonschema"),
        "state_schema": _schema(None, "get_output_jsonschema"),
        "config_schema": _schema(None, "get_config_jsonschema"),
        "context_schema": _schema(None, "get_context_jsonschema"),
    }


@router.get("/{assistant_id}/subgraphs")
async def get_assistant_subgraphs(assistant_id: str, services: AppServices) -> dict[str, Any]:
    services.graphs.spec(assistant_id)
    return {}
