"""Threads: CRUD, search, state (read from the checkpointer through the graph), history and
the thread-level event stream."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from waypost.api.auth import Caller, stamped_metadata
from waypost.api.deps import AppServices
from waypost.api.run_io import THREAD_STREAM_MODES, thread_sse_stream
from waypost.api.schemas import (
    HistoryBody,
    StateCheckpointBody,
    StateUpdateBody,
    ThreadCreate,
    ThreadPatch,
    ThreadSearch,
)
from waypost.api.views import checkpoint_json, empty_state, state_json, thread_json
from waypost.runtime.errors import CheckpointNotFound, Conflict, ValidationFailed
from waypost.server.graph_checks import require_checkpoint
from waypost.server.graph_checks import update_state as apply_update
from waypost.server.models import Thread

router = APIRouter(prefix="/threads", tags=["threads"])


async def _graph_for(services: AppServices, thread: Thread) -> Any | None:
    graph_id = (thread.meta or {}).get("graph_id")
    if not graph_id or graph_id not in services.registry:
        return None
    return await services.graphs.graph(graph_id)


async def _state_at(
    services: AppServices, thread_id: str, checkpoint: dict[str, Any], subgraphs: bool
) -> Any:
    """The state at a checkpoint of the thread; 404 ``checkpoint_not_found`` if it has none."""
    thread = await services.store.get_thread(thread_id)
    graph = await _graph_for(services, thread)
    checkpoint_id = checkpoint.get("checkpoint_id")
    if graph is None:
        if checkpoint_id:
            raise CheckpointNotFound(f"thread {thread_id} has no checkpoint {checkpoint_id}")
        return empty_state(thread_id)
    if checkpoint_id:
        await require_checkpoint(services.checkpointer, thread_id, str(checkpoint_id))
    return state_json(await graph.aget_state(_config(thread_id, checkpoint), subgraphs=subgraphs))


def _config(thread_id: str, checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    for key, value in (checkpoint or {}).items():
        if key != "thread_id" and value is not None:
            conf[key] = value
    return {"configurable": conf}


@router.post("")
async def create_thread(
    body: ThreadCreate, services: AppServices, who: Caller, request: Request
) -> dict[str, Any]:
    thread = await services.store.create_thread(
        body.thread_id,
        stamped_metadata(request, body.metadata),
        body.if_exists,
        tenant=who.tenant,
    )
    return thread_json(thread)


@router.post("/search")
async def search_threads(
    body: ThreadSearch, services: AppServices, who: Caller
) -> list[dict[str, Any]]:
    threads = await services.store.search_threads(
        tenant=who.tenant,
        access=(who.filters or {}).get("threads"),
        metadata=body.metadata,
        status=body.status,
        ids=body.ids,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by or "created_at",
        sort_order=body.sort_order or "desc",
    )
    items = [thread_json(t) for t in threads]
    if body.values:
        items = [
            t for t in items if all((t["values"] or {}).get(k) == v for k, v in body.values.items())
        ]
    if body.select:
        items = [{k: t[k] for k in body.select if k in t} for t in items]
    return items


@router.post("/count")
async def count_threads(body: ThreadSearch, services: AppServices, who: Caller) -> int:
    threads = await services.store.search_threads(
        tenant=who.tenant,
        access=(who.filters or {}).get("threads"),
        metadata=body.metadata,
        status=body.status,
        ids=body.ids,
        limit=1_000_000,
    )
    return len(threads)


@router.get("/{thread_id}")
async def get_thread(thread_id: str, services: AppServices) -> dict[str, Any]:
    return thread_json(await services.store.get_thread(thread_id))


@router.patch("/{thread_id}")
async def patch_thread(thread_id: str, body: ThreadPatch, services: AppServices) -> dict[str, Any]:
    return thread_json(await services.store.patch_thread(thread_id, body.metadata))


@router.delete("/{thread_id}", status_code=204)
async def delete_thread(thread_id: str, services: AppServices) -> Response:
    """Delete the thread, its runs (cancelling active ones) and its checkpoints."""
    await services.store.delete_thread(thread_id)
    await services.checkpointer.adelete_thread(thread_id)
    return Response(status_code=204)


_EVENT_ID = re.compile(r"^(\d+)(-(\d+|\*))?$")


def _thread_stream_modes(request: Request) -> list[str]:
    """``stream_modes`` (comma list, what the server reads), repeated ``stream_mode`` (the
    Python SDK) or a JSON array string (the JS SDK): all three spellings, one list."""
    raw = request.query_params.getlist("stream_modes") + request.query_params.getlist("stream_mode")
    modes: list[str] = []
    for value in raw:
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError:
                raise ValidationFailed(f"Invalid stream mode: {value}") from None
            modes += [str(m) for m in parsed] if isinstance(parsed, list) else [str(parsed)]
        else:
            modes += [m.strip() for m in value.split(",") if m.strip()]
    for mode in modes:
        if mode not in THREAD_STREAM_MODES:
            raise ValidationFailed(
                f"Invalid stream mode: {mode}", details={"supported": sorted(THREAD_STREAM_MODES)}
            )
    return modes or ["run_modes"]


@router.get("/{thread_id}/stream")
async def join_thread_stream(
    thread_id: str,
    request: Request,
    services: AppServices,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Join every run on the thread, now and next (SSE; the client closes it).

    With ``Last-Event-ID`` the thread's stored events after it are replayed first; without,
    the stream starts at the present.
    """
    modes = _thread_stream_modes(request)
    await services.store.get_thread(thread_id)
    if last_event_id in (None, "", "-"):
        after = await services.queue.last_thread_event(thread_id)
    else:
        match = _EVENT_ID.match(last_event_id or "")
        if match is None:
            raise ValidationFailed("Invalid last-event-id: must be a valid Redis stream ID")
        after = int(match.group(1))
    return StreamingResponse(
        thread_sse_stream(services, thread_id, after=after, modes=modes),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/{thread_id}/state")
async def get_state(thread_id: str, services: AppServices, subgraphs: bool = False) -> Any:
    thread = await services.store.get_thread(thread_id)
    graph = await _graph_for(services, thread)
    if graph is None:
        return empty_state(thread_id)
    return state_json(await graph.aget_state(_config(thread_id), subgraphs=subgraphs))


@router.get("/{thread_id}/state/{checkpoint_id}")
async def get_state_at(
    thread_id: str, checkpoint_id: str, services: AppServices, subgraphs: bool = False
) -> Any:
    return await _state_at(services, thread_id, {"checkpoint_id": checkpoint_id}, subgraphs)


@router.post("/{thread_id}/state/checkpoint")
async def get_state_at_checkpoint(
    thread_id: str, body: StateCheckpointBody, services: AppServices
) -> Any:
    return await _state_at(services, thread_id, body.checkpoint, body.subgraphs)


@router.post("/{thread_id}/state")
async def update_state(
    thread_id: str, body: StateUpdateBody, services: AppServices
) -> dict[str, Any]:
    """Write values as if ``as_node`` produced them (a new checkpoint); thread must be idle."""
    thread = await services.store.get_thread(thread_id)
    if thread.status == "busy":
        raise Conflict(f"thread {thread_id} is busy; update its state when it is idle")
    graph = await _graph_for(services, thread)
    if graph is None:
        raise ValidationFailed(f"thread {thread_id} has no graph yet: run it once first")
    checkpoint = dict(body.checkpoint or {})
    if body.checkpoint_id:
        checkpoint["checkpoint_id"] = body.checkpoint_id
    if checkpoint.get("checkpoint_id"):
        await require_checkpoint(services.checkpointer, thread_id, str(checkpoint["checkpoint_id"]))
    config = await apply_update(graph, _config(thread_id, checkpoint), body.values, body.as_node)
    return {"checkpoint": checkpoint_json(config)}


@router.post("/{thread_id}/history")
async def get_history(
    thread_id: str, body: HistoryBody, services: AppServices
) -> list[dict[str, Any]]:
    thread = await services.store.get_thread(thread_id)
    graph = await _graph_for(services, thread)
    if graph is None:
        return []
    before = body.before
    if isinstance(before, str):
        before = {"checkpoint_id": before}
    states = []
    async for snapshot in graph.aget_state_history(
        _config(thread_id, body.checkpoint),
        limit=body.limit,
        filter=body.metadata,
        before=_config(thread_id, before) if before else None,
    ):
        states.append(state_json(snapshot))
    return states
