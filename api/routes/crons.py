"""Crons (``client.crons.*``): scheduled runs on a thread or stateless, search, count, update,
delete. The rows and the scheduler live in ``server/crons.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from waypost.api.deps import AppServices, Tenant
from waypost.api.schemas import CronCreate, CronPatch, CronSearch
from waypost.runtime.errors import NotFound
from waypost.server.crons import Cron

router = APIRouter(tags=["crons"])


async def _create(
    services: AppServices, tenant: str, body: CronCreate, thread_id: str | None
) -> Cron:
    assistant = await services.assistants.get(tenant, body.assistant_id)
    if thread_id is not None:
        await services.store.get_thread(thread_id)
    return await services.crons.create(
        tenant,
        assistant_id=assistant.assistant_id,
        thread_id=thread_id,
        schedule=body.schedule,
        timezone=body.timezone,
        end_time=body.end_time,
        payload=body.model_dump(),
        metadata=body.metadata,
        on_run_completed=body.on_run_completed,
        enabled=body.enabled,
    )


@router.post("/threads/{thread_id}/runs/crons")
async def create_thread_cron(
    thread_id: str, body: CronCreate, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    """A schedule that runs the assistant on this thread (``multitask_strategy`` enqueue)."""
    return (await _create(services, tenant, body, thread_id)).as_json()


@router.post("/runs/crons")
async def create_cron(body: CronCreate, services: AppServices, tenant: Tenant) -> dict[str, Any]:
    """A schedule that runs the assistant on a new thread each time (stateless)."""
    return (await _create(services, tenant, body, None)).as_json()


def _assistant_filter(services: AppServices, assistant_id: str | None) -> str | None:
    """A search filter: an id that names no assistant simply matches no cron (not a 404)."""
    if assistant_id is None:
        return None
    try:
        return services.assistants.resolve_id(assistant_id)
    except NotFound:
        return assistant_id


@router.post("/runs/crons/search")
async def search_crons(body: CronSearch, services: AppServices, tenant: Tenant) -> JSONResponse:
    page = await services.crons.search(
        tenant,
        assistant_id=_assistant_filter(services, body.assistant_id),
        thread_id=body.thread_id,
        enabled=body.enabled,
        metadata=body.metadata,
        limit=body.limit,
        offset=body.offset,
        sort_by=body.sort_by,
        sort_order=body.sort_order,
    )
    items = [c.as_json() for c in page.items]
    if body.select:
        items = [{k: c[k] for k in body.select if k in c} for c in items]
    return JSONResponse(items, headers=page.headers())


@router.post("/runs/crons/count")
async def count_crons(body: CronSearch, services: AppServices, tenant: Tenant) -> int:
    return await services.crons.count(
        tenant,
        assistant_id=_assistant_filter(services, body.assistant_id),
        thread_id=body.thread_id,
        metadata=body.metadata,
    )


@router.get("/runs/crons/{cron_id}")
async def get_cron(cron_id: str, services: AppServices, tenant: Tenant) -> dict[str, Any]:
    return (await services.crons.get(tenant, cron_id)).as_json()


@router.patch("/runs/crons/{cron_id}")
async def update_cron(
    cron_id: str, body: CronPatch, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    return (await services.crons.update(tenant, cron_id, body.changes())).as_json()


@router.delete("/runs/crons/{cron_id}", status_code=204)
async def delete_cron(cron_id: str, services: AppServices, tenant: Tenant) -> Response:
    await services.crons.delete(tenant, cron_id)
    return Response(status_code=204)
