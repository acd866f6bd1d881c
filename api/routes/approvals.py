"""The approvals inbox: what is waiting for a human, and the decision that resumes it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from waypost.api.auth import Caller
from waypost.api.deps import AppServices
from waypost.api.schemas import MAX_OFFSET, DecisionBody
from waypost.server import run_json
from waypost.server.approvals import approval_events, approval_json, event_json

router = APIRouter(prefix="/approvals", tags=["approvals"])


@router.get("")
async def list_approvals(
    services: AppServices,
    who: Caller,
    status: Literal["pending", "approved", "rejected", "edited", "superseded"] | None = None,
    workflow: str | None = None,
    thread_id: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[dict[str, Any]]:
    approvals = await services.approvals.list(
        status=status,
        workflow=workflow,
        thread_id=thread_id,
        limit=limit,
        offset=offset,
        tenant=who.tenant,
    )
    return [approval_json(a) for a in approvals]


@router.get("/{approval_id}")
async def get_approval(approval_id: str, services: AppServices) -> dict[str, Any]:
    """The approval and its audit trail (requested, decided: who, when, arguments)."""
    approval = await services.approvals.get(approval_id)
    events = await approval_events(services.approvals, approval_id)
    return {**approval_json(approval), "events": [event_json(e) for e in events]}


@router.post("/{approval_id}/decision")
async def decide(
    approval_id: str, body: DecisionBody, services: AppServices, who: Caller
) -> dict[str, Any]:
    """Approve, reject or edit; the paused run resumes on a worker. 409 if already decided.

    The decider recorded is the authenticated caller; a ``decided_by`` in the body is ignored.
    """
    approval, run = await services.approvals.decide(approval_id, body.to_decision(who.identity))
    return {"approval": approval_json(approval), "run": run_json(run)}
