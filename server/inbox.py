"""What a reviewer reads: the pending approvals of a tenant, and one approval in context.

The console's inbox and approval pages read through here; decisions still go through
``ApprovalService.decide``. Every query takes the tenant and filters by it, so another tenant's
approval is simply not found. The approval payload is the kit's ``ApprovalRequest`` record
(``tool``, ``arguments``, ``summary``, ``risk``, ``policy``, ``details``, ``args_schema``);
interrupts of other shapes (``args``, ``why``) are read as well as they can be.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from waypost.observability.ledger import LedgerEntry
from waypost.server.identity import ApprovalEvent
from waypost.server.models import Approval, Run, Thread
from waypost.server.serde import scrub_text

__all__ = [
    "ApprovalContext",
    "Inbox",
    "InboxItem",
    "action_of",
    "customer_message",
    "customer_of",
]

_MESSAGE_KEYS = ("message", "text", "query", "question", "input", "prompt")
_CUSTOMER_KEYS = ("customer", "customer_id", "user_id", "email", "user")


@dataclass(frozen=True)
class InboxItem:
    """One pending approval as the inbox lists it."""

    id: str
    workflow: str
    customer: str | None
    tool: str
    summary: str
    risk: str | None
    created_at: dt.datetime
    thread_id: str
    run_id: str


@dataclass
class ApprovalContext:
    """An approval with what a reviewer needs to decide it."""

    approval: Approval
    run: Run | None
    events: list[ApprovalEvent]
    message: str | None
    customer: str | None
    steps: list[LedgerEntry] = field(default_factory=list)
    earlier: list[Approval] = field(default_factory=list)  # same thread, before this one

    @property
    def payload(self) -> dict[str, Any]:
        value = scrub_text(self.approval.payload)
        return value if isinstance(value, dict) else {"value": value}


def action_of(payload: Any) -> tuple[str, dict[str, Any], str]:
    """(tool, arguments, summary) of an interrupt value, whatever its shape."""
    if not isinstance(payload, dict):
        return "", {}, str(payload or "")
    requests = payload.get("action_requests")
    first = requests[0] if isinstance(requests, list) and requests else {}
    first = first if isinstance(first, dict) else {}
    tool = payload.get("tool") or first.get("name") or payload.get("type") or ""
    args = payload.get("arguments", payload.get("args", first.get("args")))
    summary = payload.get("summary") or first.get("description") or payload.get("why") or ""
    return str(tool), args if isinstance(args, dict) else {}, str(summary)


def customer_of(payload: Any, run_input: Any) -> str | None:
    """Who the action is for: the payload's details, else the run's input."""
    for source in (
        (payload or {}).get("details") if isinstance(payload, dict) else None,
        run_input,
    ):
        if isinstance(source, dict):
            for key in _CUSTOMER_KEYS:
                value = source.get(key)
                if isinstance(value, str | int) and str(value):
                    return str(value)
    return None


def customer_message(run_input: Any, values: Any) -> str | None:
    """The customer's words: the run input's message, else the first human message of the
    thread's ``messages``."""
    if isinstance(run_input, str):
        return run_input
    if isinstance(run_input, dict):
        for key in _MESSAGE_KEYS:
            if isinstance(run_input.get(key), str):
                return str(run_input[key])
        found = _first_human(run_input.get("messages"))
        if found:
            return found
    if isinstance(values, dict):
        found = _first_human(values.get("messages"))
        if found:
            return found
        for key in _MESSAGE_KEYS:
            if isinstance(values.get(key), str):
                return str(values[key])
    return None


def _first_human(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("type") in ("human", "user") or message.get("role") in ("human", "user"):
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
    return None


class Inbox:
    """Reads for the console's approval pages (``sessions``: the app database)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def pending(self, tenant: str, *, limit: int = 200) -> list[InboxItem]:
        """The tenant's pending approvals, newest first."""
        query = (
            select(Approval, Run.input)
            .join(Run, Run.run_id == Approval.run_id, isouter=True)
            .where(Approval.tenant == tenant, Approval.status == "pending")
            .order_by(Approval.created_at.desc(), Approval.id)
            .limit(limit)
        )
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        items = []
        for approval, run_input in rows:
            payload = scrub_text(approval.payload)
            tool, _args, summary = action_of(payload)
            items.append(
                InboxItem(
                    id=approval.id,
                    workflow=approval.workflow,
                    customer=customer_of(payload, run_input),
                    tool=tool,
                    summary=summary,
                    risk=payload.get("risk") if isinstance(payload, dict) else None,
                    created_at=approval.created_at,
                    thread_id=approval.thread_id,
                    run_id=approval.run_id,
                )
            )
        return items

    async def pending_count(self, tenant: str) -> int:
        query = select(func.count()).where(Approval.tenant == tenant, Approval.status == "pending")
        async with self.sessions() as session:
            return int((await session.execute(query)).scalar_one())

    async def context(self, tenant: str, approval_id: str) -> ApprovalContext | None:
        """The approval, its run, audit trail, the customer's message and the steps so far."""
        async with self.sessions() as session:
            approval = await session.get(Approval, approval_id)
            if approval is None or approval.tenant != tenant:
                return None
            run = await session.get(Run, approval.run_id)
            thread = await session.get(Thread, approval.thread_id)
            events = await _events(session, approval_id)
            steps = await _steps(session, approval.thread_id, tenant, approval.created_at)
            earlier = list(
                (
                    await session.execute(
                        select(Approval)
                        .where(
                            Approval.thread_id == approval.thread_id,
                            Approval.tenant == tenant,
                            Approval.id != approval.id,
                            Approval.created_at <= approval.created_at,
                        )
                        .order_by(Approval.created_at)
                    )
                ).scalars()
            )
        run_input = run.input if run is not None else None
        if run is not None and run.input is None:  # a resume: the thread's first run has it
            run_input = await self._first_input(approval.thread_id)
        values = thread.values if thread is not None else None
        return ApprovalContext(
            approval=approval,
            run=run,
            events=events,
            message=customer_message(scrub_text(run_input), scrub_text(values)),
            customer=customer_of(scrub_text(approval.payload), scrub_text(run_input)),
            steps=steps,
            earlier=earlier,
        )

    async def _first_input(self, thread_id: str) -> Any:
        query = (
            select(Run.input)
            .where(Run.thread_id == thread_id, Run.input.is_not(None))
            .order_by(Run.created_at)
            .limit(1)
        )
        async with self.sessions() as session:
            return (await session.execute(query)).scalar_one_or_none()


async def _events(session: AsyncSession, approval_id: str) -> list[ApprovalEvent]:
    rows = await session.execute(
        select(ApprovalEvent)
        .where(ApprovalEvent.approval_id == approval_id)
        .order_by(ApprovalEvent.id)
    )
    return list(rows.scalars())


async def _steps(
    session: AsyncSession, thread_id: str, tenant: str, until: dt.datetime
) -> list[LedgerEntry]:
    """The thread's LLM and tool calls up to the approval (the steps so far)."""
    rows = await session.execute(
        select(LedgerEntry)
        .where(
            LedgerEntry.thread_id == thread_id,
            LedgerEntry.tenant == tenant,
            LedgerEntry.created_at <= until,
        )
        .order_by(LedgerEntry.id)
        .limit(500)
    )
    return list(rows.scalars())
