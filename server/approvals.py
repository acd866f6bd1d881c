"""The approvals inbox: list pending actions, decide them, resume the paused run.

A decision is one transaction: the approval flips ``pending -> <decision>`` and its thread flips
``interrupted -> busy``, both with conditional ``UPDATE``s whose row counts are checked, and the
resume run (``Command(resume={interrupt id: {"decision", "comment", "arguments"}})``) is inserted.
Of any number of concurrent decisions exactly one commits; the rest get ``Conflict`` (409).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from waypost.graphs.kit import Decision
from waypost.runtime.errors import Conflict, NotFound
from waypost.runtime.models import utcnow
from waypost.server.identity import ApprovalEvent
from waypost.server.models import Approval, Run, Thread
from waypost.server.queue import RunQueue, approvals_key, queue_key
from waypost.server.serde import iso, scrub_text

__all__ = ["ApprovalService", "approval_events", "approval_json", "event_json"]


def approval_json(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "run_id": approval.run_id,
        "thread_id": approval.thread_id,
        "workflow": approval.workflow,
        "interrupt_id": approval.interrupt_id,
        "status": approval.status,
        "payload": scrub_text(approval.payload),
        "decision": scrub_text(approval.decision),
        "decided_by": approval.decided_by,
        "decided_at": iso(approval.decided_at),
        "resume_run_id": approval.resume_run_id,
        "created_at": iso(approval.created_at),
    }


class ApprovalService:
    def __init__(self, queue: RunQueue) -> None:
        self.queue = queue
        self.sessions = queue.sessions

    async def list(
        self,
        *,
        status: str | None = None,
        workflow: str | None = None,
        thread_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
        tenant: str | None = None,
    ) -> list[Approval]:
        query = select(Approval).order_by(Approval.created_at.desc())
        if tenant is not None:
            query = query.where(Approval.tenant == tenant)
        if status:
            query = query.where(Approval.status == status)
        if workflow:
            query = query.where(Approval.workflow == workflow)
        if thread_id:
            query = query.where(Approval.thread_id == thread_id)
        async with self.sessions() as session:
            return list((await session.execute(query.limit(limit).offset(offset))).scalars())

    async def get(self, approval_id: str) -> Approval:
        async with self.sessions() as session:
            approval = await session.get(Approval, approval_id)
        if approval is None:
            raise NotFound(f"approval {approval_id} not found")
        return approval

    async def decide(self, approval_id: str, decision: Decision) -> tuple[Approval, Run]:
        """Record the decision and enqueue the resume run; Conflict if someone decided first.

        The thread is flipped before the approval is claimed: run creation (a resume through
        ``runs``, e.g. from Agent Chat UI) locks them in the same order, so the two racing on
        PostgreSQL wait for each other instead of deadlocking.
        """
        resume = decision.resume_value()
        decided_by = decision.decided_by or "anonymous"
        now = utcnow()
        found = await self.get(approval_id)  # NotFound when it does not exist
        async with self.sessions() as session:
            flipped = await session.execute(
                update(Thread)
                .where(Thread.thread_id == found.thread_id, Thread.status == "interrupted")
                .values({Thread.status: "busy", Thread.updated_at: now})
            )
            claimed = await session.execute(
                update(Approval)
                .where(Approval.id == approval_id, Approval.status == "pending")
                .values(
                    status=decision.status, decision=resume, decided_by=decided_by, decided_at=now
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                current = await self.get(approval_id)
                raise Conflict(
                    f"approval {approval_id} was already decided ({current.status})",
                    details={"status": current.status},
                )
            if flipped.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                raise Conflict(
                    f"thread {found.thread_id} is not waiting for a decision",
                    details={"thread_id": found.thread_id},
                )
            approval = await session.get(Approval, approval_id, populate_existing=True)
            assert approval is not None
            before = (approval.payload or {}).get("arguments")
            session.add(
                ApprovalEvent(
                    approval_id=approval_id,
                    tenant=approval.tenant,
                    event=decision.status,
                    actor=decided_by,
                    comment=decision.comment,
                    arguments_before=before,
                    arguments_after=(
                        {**(before or {}), **(decision.arguments or {})}
                        if decision.decision == "edit"
                        else before
                    ),
                    at=now,
                )
            )
            paused = await session.get(Run, approval.run_id)
            if paused is None:
                await session.rollback()
                raise NotFound(f"run {approval.run_id} not found")
            value: Any = {approval.interrupt_id: resume} if approval.interrupt_id else resume
            run = Run(
                run_id=str(uuid.uuid4()),
                thread_id=approval.thread_id,
                assistant_id=paused.assistant_id,
                graph_id=paused.graph_id,
                tenant=paused.tenant,
                status="pending",
                input=None,
                command={"resume": value},
                config=paused.config,
                kwargs=_resume_kwargs(paused),
                meta={**(paused.meta or {}), "approval_id": approval_id},
                multitask_strategy="reject",
                created_at=now,
                updated_at=now,
            )
            session.add(run)
            approval.resume_run_id = run.run_id
            await self.queue.commit_and_wake(session, queue_key, approvals_key(approval.tenant))
            return approval, run


def _resume_kwargs(paused: Run) -> dict[str, Any]:
    """The resume streams what the paused run streamed (a chat UI joining it then gets the
    reply as ``messages`` too), and always ``values``."""
    before = (paused.kwargs or {}).get("stream_mode") or ["values"]
    modes = [before] if isinstance(before, str) else list(before)
    kwargs: dict[str, Any] = {"stream_mode": list(dict.fromkeys(["values", *modes]))}
    if (paused.kwargs or {}).get("stream_subgraphs"):
        kwargs["stream_subgraphs"] = True
    return kwargs


async def approval_events(service: ApprovalService, approval_id: str) -> list[ApprovalEvent]:
    """The audit trail of one approval, oldest first."""
    async with service.sessions() as session:
        rows = await session.execute(
            select(ApprovalEvent)
            .where(ApprovalEvent.approval_id == approval_id)
            .order_by(ApprovalEvent.id)
        )
        return list(rows.scalars())


def event_json(event: ApprovalEvent) -> dict[str, Any]:
    return {
        "event": event.event,
        "actor": event.actor,
        "at": iso(event.at),
        "comment": event.comment,
        "arguments_before": event.arguments_before,
        "arguments_after": event.arguments_after,
    }
