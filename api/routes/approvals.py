"""The approvals inbox: what is waiting for a human, and the decision that resumes it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from waypost.api.deps import AppServices
from waypost.api.schemas import MAX_OFFSET, DecisionBody
from waypost.server import run_json
from waypost.server.approvals import approval_json

router = APIRouter(prefix="/approvals", tags=["approvals"])


@router.get("")
async def list_approvals(
    services: AppServices,
    status: Literal["pending", "approved", "rejected", "edited", "superseded"] | None = None,
    workflow: str | None = None,
    thread_id: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[dict[str, Any]]:
    approvals = await services.approvals.list(
        status=status, workflow=workflow, thread_id=thread_id, limit=limit, offset=offset
    )
    return [approval_json(a) for a in approvals]


@router.get("/{approval_id}")
async def get_approval(approval_id: str, services: AppServices) -> dict[str, Any]:
    return approval_json(await services.approvals.get(approval_id))


@router.post("/{approval_id}/decision")
async def decide(approval_id: str, body: DecisionBody, services: AppServices) -> dict[str, Any]:
    """Approve, reject or edit; the paused run resumes on a worker. 409 if already decided."""
    approval, run = await services.approvals.decide(
        approval_id, body.to_decision(body.decided_by or "anonymous")
    )
    return {"approval": approval_json(approval), "run": run_json(run)}
