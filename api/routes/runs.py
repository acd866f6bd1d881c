"""Runs on threads and stateless runs: create, wait, stream, join, list, get, cancel, delete.

Headers follow the LangGraph server: ``Content-Location: /threads/{tid}/runs/{rid}`` on every
create/wait/stream response (the SDK reads run ids from it) and ``Location: .../stream`` on
streams so the SDK can reconnect with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse
from waypost.api.auth import RESERVED_KEYS, Caller, Launch, Launched
from waypost.api.deps import AppServices
from waypost.api.run_io import database_error_result, run_result, sse_stream, wait_for_run
from waypost.api.schemas import MAX_OFFSET, CancelManyBody, RunCreate, canonical_uuid
from waypost.runtime.errors import (
    CheckpointNotFound,
    Conflict,
    DatabaseError,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from waypost.server import RunRequest, run_json
from waypost.server.graph_checks import require_checkpoint, require_nodes
from waypost.server.models import Run
from waypost.server.queue import TERMINAL, done_key
from waypost.server.services import Services

router = APIRouter(tags=["runs"])
_background: set[asyncio.Task[Any]] = set()


def _spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Run cleanup that must survive the request's cancellation (client disconnects)."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


def _location(run: Run) -> str:
    return f"/threads/{run.thread_id}/runs/{run.run_id}"


async def _create(
    services: Services,
    launch: Launched,
    thread_id: str | None,
    body: RunCreate,
    run_id: str | None = None,
) -> Run:
    who = launch.principal
    config = dict(body.config or {})
    if not isinstance(config.get("configurable", {}), dict):
        raise ValidationFailed("config.configurable must be an object")
    if body.command is not None and body.command.resume is not None and not who.can("decide"):
        # resuming a paused run answers its approval: a reviewer's decision
        raise Forbidden(
            f"role {who.role} may not answer approvals (command.resume)",
            details={"role": who.role, "needs": "decide"},
        )
    # the caller's identity travels with the run (graphs read it, as on the LangGraph server);
    # a body cannot claim someone else's
    configurable = {
        k: v for k, v in (config.get("configurable") or {}).items() if k not in RESERVED_KEYS
    }
    if configurable or config.get("configurable") is not None:
        config["configurable"] = configurable
    if config.get("configurable") and body.context is not None:
        raise ValidationFailed("cannot specify both configurable and context; prefer context")
    assistant_id = services.assistants.resolve_id(body.assistant_id)
    kwargs = body.run_kwargs()
    answers = await _check_against_graph(
        services, who.tenant, assistant_id, thread_id, body, kwargs
    )
    request = RunRequest(
        assistant_id=assistant_id,
        input=body.input,
        command=body.command.model_dump(exclude_none=True) if body.command else None,
        config={**config, "configurable": {**configurable, **who.run_identity()}},
        kwargs=kwargs,
        metadata=launch.metadata(body.metadata),
        multitask_strategy=body.multitask_strategy,
        run_id=run_id,
        thread_metadata=launch.metadata({"stateless": True} if thread_id is None else None),
        tenant=who.tenant,
        caller=who.identity,
        answers=answers if body.command is not None and body.command.resume is not None else (),
    )
    if thread_id is None:  # stateless: the thread is created with the run, in its transaction
        return await services.store.create_run(str(uuid.uuid4()), request, if_not_exists="create")
    return await services.store.create_run(thread_id, request, if_not_exists=body.if_not_exists)


async def _check_against_graph(
    services: Services,
    tenant: str,
    assistant_id: str,
    thread_id: str | None,
    body: RunCreate,
    kwargs: Any,
) -> list[str]:
    """Refuse what LangGraph would silently ignore or run from an empty state (422/404).

    Returns the ids of the interrupts pending at the run's ``checkpoint`` (Agent Chat UI sends
    the head it shows with every resume): the approvals that resume may decide.
    """
    if body.interrupt_before or body.interrupt_after:
        assistant = await services.assistants.get(tenant, assistant_id)
        graph = await services.graphs.graph(assistant.graph_id)
        require_nodes(graph, body.interrupt_before, "interrupt_before")
        require_nodes(graph, body.interrupt_after, "interrupt_after")
    checkpoint_id = kwargs.get("checkpoint_id")
    answers: list[str] = []
    if checkpoint_id:
        if thread_id is None:
            raise CheckpointNotFound(f"a stateless run has no checkpoint {checkpoint_id}")
        answers = await require_checkpoint(services.checkpointer, thread_id, str(checkpoint_id))
    if thread_id is not None and body.if_not_exists == "create":
        try:
            canonical_uuid(thread_id, "thread_id")
        except ValueError:
            try:
                await services.store.get_thread(thread_id)
            except NotFound:
                raise ValidationFailed(
                    "thread_id must be a UUID to create the thread",
                    details={"thread_id": thread_id},
                ) from None
    return answers


async def _delete_when_done(services: Services, run: Run) -> None:
    """Stateless runs (``on_completion='delete'``) leave no thread behind."""
    await wait_for_run(services, run.run_id)
    await services.store.delete_thread(run.thread_id)
    await services.checkpointer.adelete_thread(run.thread_id)


def _disconnect_policy(body: RunCreate, stateless: bool) -> tuple[bool, bool]:
    cancel = (body.on_disconnect or ("cancel" if stateless else "continue")) == "cancel"
    delete = stateless and (body.on_completion or "delete") == "delete"
    return cancel, delete


async def _create_and_wait(
    services: Services, launch: Launched, thread_id: str | None, body: RunCreate, stateless: bool
) -> Response:
    """Create a run and answer once it is done.

    The ``done`` ticket is taken before the run exists, so the wait starts with no database
    read and cannot miss a run that a worker finishes before the response starts.
    """
    run_id = str(uuid.uuid4())
    ticket = services.signals.ticket(done_key(run_id))
    try:
        run = await _create(services, launch, thread_id, body, run_id)
    except BaseException:
        services.signals.wake(done_key(run_id))  # drop the ticket of a run that never was
        raise
    cancel_on_disconnect, delete = _disconnect_policy(body, stateless)

    async def body_iter() -> AsyncIterator[bytes]:
        finished = False
        try:
            try:
                result = run_result(await wait_for_run(services, run.run_id, ticket))
            except DatabaseError as exc:  # the status line is sent: answer with a clear error
                result = database_error_result(exc)
            finished = True
            yield json.dumps(result).encode()
        finally:
            if not finished and cancel_on_disconnect:
                _spawn(services.queue.request_cancel([run.run_id]))
            if delete:
                _spawn(_delete_when_done(services, run))

    return StreamingResponse(
        body_iter(), media_type="application/json", headers={"Content-Location": _location(run)}
    )


def _stream_response(
    services: Services,
    run: Run,
    *,
    modes: list[str] | None,
    after: int = -1,
    cancel_on_disconnect: bool = False,
    delete: bool = False,
) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        finished = False
        try:
            async for chunk in sse_stream(services, run.run_id, after=after, modes=modes):
                yield chunk
            finished = True
        finally:
            if not finished and cancel_on_disconnect:
                _spawn(services.queue.request_cancel([run.run_id]))
            if delete:
                _spawn(_delete_when_done(services, run))

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={
            "Content-Location": _location(run),
            "Location": f"{_location(run)}/stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        },
    )


# -- stateful ---------------------------------------------------------------------------------
@router.post("/threads/{thread_id}/runs")
async def create_run(
    thread_id: str, body: RunCreate, services: AppServices, launch: Launch
) -> JSONResponse:
    """Start a background run; poll it, join it or stream it later."""
    run = await _create(services, launch, thread_id, body)
    return JSONResponse(run_json(run), headers={"Content-Location": _location(run)})


@router.post("/threads/{thread_id}/runs/wait")
async def wait_run(
    thread_id: str, body: RunCreate, services: AppServices, launch: Launch
) -> Response:
    """Start a run and answer with its final values (``__interrupt__`` when it paused)."""
    return await _create_and_wait(services, launch, thread_id, body, stateless=False)


@router.post("/threads/{thread_id}/runs/stream")
async def stream_run(
    thread_id: str, body: RunCreate, services: AppServices, launch: Launch
) -> Response:
    """Start a run and stream its events as SSE."""
    run = await _create(services, launch, thread_id, body)
    cancel, _ = _disconnect_policy(body, stateless=False)
    return _stream_response(services, run, modes=body.stream_modes(), cancel_on_disconnect=cancel)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str,
    services: AppServices,
    limit: int = Query(10, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    status: str | None = None,
) -> list[dict[str, Any]]:
    await services.store.get_thread(thread_id)
    runs = await services.store.list_runs(thread_id, limit=limit, offset=offset, status=status)
    return [run_json(r) for r in runs]


@router.get("/threads/{thread_id}/runs/{run_id}")
async def get_run(thread_id: str, run_id: str, services: AppServices) -> dict[str, Any]:
    return run_json(await services.store.get_run(run_id, thread_id))


@router.delete("/threads/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(thread_id: str, run_id: str, services: AppServices) -> Response:
    run = await services.store.get_run(run_id, thread_id)
    if run.status not in TERMINAL:
        raise Conflict(f"run {run_id} is {run.status}; cancel it first")
    await services.queue.delete_finished([run_id])
    return Response(status_code=204)


@router.get("/threads/{thread_id}/runs/{run_id}/join")
async def join_run(thread_id: str, run_id: str, services: AppServices) -> Any:
    """Wait for the run to finish and return its final values."""
    await services.store.get_run(run_id, thread_id)
    return run_result(await wait_for_run(services, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}/stream")
async def join_run_stream(
    thread_id: str,
    run_id: str,
    services: AppServices,
    stream_mode: Annotated[list[str] | None, Query()] = None,
    cancel_on_disconnect: bool = False,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    """Join a run's event stream (replaying what happened after ``Last-Event-ID``)."""
    run = await services.store.get_run(run_id, thread_id)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else -1
    return _stream_response(
        services, run, modes=stream_mode, after=after, cancel_on_disconnect=cancel_on_disconnect
    )


@router.post("/threads/{thread_id}/runs/{run_id}/cancel", status_code=202)
async def cancel_run(
    thread_id: str,
    run_id: str,
    services: AppServices,
    wait: bool = False,
    action: str = Query("interrupt", pattern="^(interrupt|rollback)$"),
) -> Response:
    """Cancel a pending or running run; ``wait=1`` answers once it has stopped."""
    run = await services.store.get_run(run_id, thread_id)
    if run.status in TERMINAL:
        raise Conflict(f"run {run_id} already finished ({run.status})")
    await services.queue.request_cancel([run_id], action)
    if wait:
        await wait_for_run(services, run_id)
        return Response(status_code=204)
    return Response(status_code=202)


@router.post("/runs/cancel", status_code=202)
async def cancel_many(
    body: CancelManyBody,
    services: AppServices,
    who: Caller,
    action: str = Query("interrupt", pattern="^(interrupt|rollback)$"),
) -> Response:
    """Cancel runs by id, by thread, or every pending/running run (``status``)."""
    if not (body.run_ids or body.thread_id or body.status):
        raise ValidationFailed("give run_ids, thread_id or status")
    statuses = ["pending", "running"] if body.status in (None, "all") else [body.status]
    run_ids = await services.store.active_run_ids(
        thread_id=body.thread_id, run_ids=body.run_ids, statuses=statuses, tenant=who.tenant
    )
    await services.queue.request_cancel(run_ids, action)
    return Response(status_code=202)


# -- stateless ----------------------------------------------------------------------------------
@router.post("/runs")
async def create_stateless_run(
    body: RunCreate, services: AppServices, launch: Launch
) -> JSONResponse:
    run = await _create(services, launch, None, body)
    return JSONResponse(run_json(run), headers={"Content-Location": _location(run)})


MAX_BATCH = 100


@router.post("/runs/batch")
async def create_run_batch(
    bodies: Annotated[list[RunCreate], Body(max_length=MAX_BATCH)],
    services: AppServices,
    launch: Launch,
) -> list[dict[str, Any]]:
    """Start several stateless background runs; all assistants are checked before any starts."""
    if not bodies:
        raise ValidationFailed("give at least one run")
    for body in bodies:
        await services.assistants.get(launch.principal.tenant, body.assistant_id)  # 404 names it
    runs = [await _create(services, launch, None, body) for body in bodies]
    return [run_json(run) for run in runs]


@router.post("/runs/wait")
async def wait_stateless_run(body: RunCreate, services: AppServices, launch: Launch) -> Response:
    return await _create_and_wait(services, launch, None, body, stateless=True)


@router.post("/runs/stream")
async def stream_stateless_run(body: RunCreate, services: AppServices, launch: Launch) -> Response:
    run = await _create(services, launch, None, body)
    cancel, delete = _disconnect_policy(body, stateless=True)
    return _stream_response(
        services, run, modes=body.stream_modes(), cancel_on_disconnect=cancel, delete=delete
    )
