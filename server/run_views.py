"""Runs as the console shows them: a filtered list, and one run's timeline.

A run's timeline joins what several tables know about it: the ``runs`` row (status, timing,
totals), the usage ledger (one row per LLM and tool call: node, latency, tokens, USD), the
approvals it asked for or resumed from with their audit trail, the recorded side-effecting
tool calls (``tool_invocations``, scoped ``thread/turn``), the tool calls and results in its
last state's ``messages``, and its stored stream events. Everything is filtered by tenant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from waypost.observability.ledger import LedgerEntry
from waypost.runtime.models import ToolInvocation
from waypost.server.identity import ApprovalEvent
from waypost.server.models import Approval, Run, RunEvent
from waypost.server.serde import scrub_text

__all__ = ["RunFilter", "RunPage", "RunRow", "RunTimeline", "RunViews", "Step", "ToolCall"]

STATUSES = ("pending", "running", "success", "error", "interrupted", "timeout")


@dataclass(frozen=True)
class RunFilter:
    workflow: str | None = None
    status: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class RunRow:
    run_id: str
    thread_id: str
    workflow: str
    status: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    input_tokens: int
    output_tokens: int
    usd: float

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max((_aware(self.finished_at) - _aware(self.started_at)).total_seconds(), 0.0)


@dataclass(frozen=True)
class RunPage:
    rows: list[RunRow]
    has_more: bool


@dataclass(frozen=True)
class Step:
    """One bar of the timeline: an LLM or tool call (from the ledger)."""

    kind: str
    node: str
    name: str
    start_s: float  # from the run's start
    latency_ms: float
    input_tokens: int
    output_tokens: int
    usd: float
    status: str
    error_code: str | None
    at: dt.datetime


@dataclass(frozen=True)
class ToolCall:
    """A tool call with its arguments and result (or error)."""

    call_id: str
    name: str
    arguments: Any
    result: Any = None
    error: Any = None
    source: str = "messages"  # or "recorded": a side effect's idempotency record


@dataclass
class RunTimeline:
    run: Run
    steps: list[Step]
    approvals: list[Approval]
    approval_events: list[ApprovalEvent]
    tool_calls: list[ToolCall]
    event_counts: dict[str, int]
    thread_runs: list[RunRow]
    totals: dict[str, Any] = field(default_factory=dict)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _row(run: Any) -> RunRow:
    return RunRow(
        run_id=run.run_id,
        thread_id=run.thread_id,
        workflow=run.graph_id,
        status=run.status,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        input_tokens=run.input_tokens or 0,
        output_tokens=run.output_tokens or 0,
        usd=run.usd or 0.0,
    )


_ROW_COLUMNS = (
    Run.run_id,
    Run.thread_id,
    Run.graph_id,
    Run.status,
    Run.created_at,
    Run.started_at,
    Run.finished_at,
    Run.input_tokens,
    Run.output_tokens,
    Run.usd,
)


class RunViews:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def list(
        self, tenant: str, flt: RunFilter, *, limit: int = 50, offset: int = 0
    ) -> RunPage:
        """A page of the tenant's runs, newest first (``ix_runs_tenant_created_at``)."""
        query = select(*_ROW_COLUMNS).where(Run.tenant == tenant)
        if flt.workflow:
            query = query.where(Run.graph_id == flt.workflow)
        if flt.status:
            query = query.where(Run.status == flt.status)
        if flt.since is not None:
            query = query.where(Run.created_at >= flt.since)
        if flt.until is not None:
            query = query.where(Run.created_at < flt.until)
        query = query.order_by(Run.created_at.desc(), Run.run_id).limit(limit + 1).offset(offset)
        async with self.sessions() as session:
            rows = (await session.execute(query)).all()
        return RunPage([_row(r) for r in rows[:limit]], len(rows) > limit)

    async def timeline(self, tenant: str, run_id: str) -> RunTimeline | None:
        async with self.sessions() as session:
            run = await session.get(Run, run_id)
            if run is None or run.tenant != tenant:
                return None
            entries = list(
                (
                    await session.execute(
                        select(LedgerEntry)
                        .where(LedgerEntry.run_id == run_id, LedgerEntry.tenant == tenant)
                        .order_by(LedgerEntry.id)
                        .limit(2000)
                    )
                ).scalars()
            )
            approvals = list(
                (
                    await session.execute(
                        select(Approval)
                        .where(
                            Approval.tenant == tenant,
                            or_(Approval.run_id == run_id, Approval.resume_run_id == run_id),
                        )
                        .order_by(Approval.created_at)
                    )
                ).scalars()
            )
            events: list[ApprovalEvent] = []
            if approvals:
                events = list(
                    (
                        await session.execute(
                            select(ApprovalEvent)
                            .where(ApprovalEvent.approval_id.in_([a.id for a in approvals]))
                            .order_by(ApprovalEvent.id)
                        )
                    ).scalars()
                )
            counts = dict(
                (
                    await session.execute(
                        select(RunEvent.event, func.count())
                        .where(RunEvent.run_id == run_id)
                        .group_by(RunEvent.event)
                    )
                ).all()
            )
            last_values = (
                await session.execute(
                    select(RunEvent.data)
                    .where(RunEvent.run_id == run_id, RunEvent.event == "values")
                    .order_by(RunEvent.seq.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
            recorded = await _recorded_calls(session, run)
            siblings = [
                _row(r)
                for r in (
                    await session.execute(
                        select(*_ROW_COLUMNS)
                        .where(Run.thread_id == run.thread_id, Run.tenant == tenant)
                        .order_by(Run.created_at)
                        .limit(100)
                    )
                ).all()
            ]
        origin = _aware(run.started_at or run.created_at)
        steps = [_step(e, origin) for e in entries]
        calls = _message_calls(scrub_text(last_values))
        seen = {c.call_id for c in calls}
        calls += [c for c in recorded if c.call_id not in seen]
        totals = {
            "llm_calls": sum(1 for s in steps if s.kind == "llm"),
            "tool_calls": sum(1 for s in steps if s.kind == "tool"),
            "errors": sum(1 for s in steps if s.status == "error"),
            "llm_latency_ms": sum(s.latency_ms for s in steps if s.kind == "llm"),
        }
        return RunTimeline(
            run=run,
            steps=steps,
            approvals=approvals,
            approval_events=events,
            tool_calls=calls,
            event_counts={str(k): int(v) for k, v in counts.items()},
            thread_runs=siblings,
            totals=totals,
        )


def _step(entry: LedgerEntry, origin: dt.datetime) -> Step:
    end = _aware(entry.created_at)
    start = end - dt.timedelta(milliseconds=entry.latency_ms or 0.0)
    return Step(
        kind=entry.kind,
        node=entry.node,
        name=entry.name,
        start_s=max((start - origin).total_seconds(), 0.0),
        latency_ms=float(entry.latency_ms or 0.0),
        input_tokens=entry.input_tokens or 0,
        output_tokens=entry.output_tokens or 0,
        usd=float(entry.usd or 0.0),
        status=entry.status,
        error_code=entry.error_code,
        at=end,
    )


async def _recorded_calls(session: AsyncSession, run: Run) -> list[ToolCall]:
    """Side-effecting calls recorded under the run's thread (scope ``thread/turn``) while it
    ran. The thread was checked to be the caller's tenant's."""
    prefix = f"{run.thread_id}/"
    query = select(ToolInvocation).where(
        or_(
            ToolInvocation.run_id == run.thread_id,
            func.substr(ToolInvocation.run_id, 1, len(prefix)) == prefix,
        )
    )
    if run.started_at is not None:
        query = query.where(ToolInvocation.created_at >= run.started_at)
    if run.finished_at is not None:
        query = query.where(ToolInvocation.created_at <= run.finished_at)
    rows = (await session.execute(query.order_by(ToolInvocation.id).limit(200))).scalars()
    return [
        ToolCall(
            call_id=r.tool_call_id,
            name=r.tool_name,
            arguments=scrub_text(r.arguments),
            result=scrub_text(r.result),
            error=scrub_text(r.error),
            source="recorded",
        )
        for r in rows
    ]


def _message_calls(values: Any) -> list[ToolCall]:
    """Tool calls of the AI messages in a state's ``messages``, with their tool results."""
    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        return []
    results: dict[str, dict[str, Any]] = {}
    for message in messages:
        if isinstance(message, dict) and message.get("type") == "tool":
            results[str(message.get("tool_call_id"))] = message
    calls = []
    for message in messages:
        if not isinstance(message, dict) or message.get("type") != "ai":
            continue
        for call in message.get("tool_calls") or []:
            if not isinstance(call, dict):
                continue
            call_id = str(call.get("id"))
            answer = results.get(call_id, {})
            failed = answer.get("status") == "error"
            calls.append(
                ToolCall(
                    call_id=call_id,
                    name=str(call.get("name", "")),
                    arguments=call.get("args"),
                    result=None if failed else answer.get("content"),
                    error=answer.get("content") if failed else None,
                )
            )
    return calls
