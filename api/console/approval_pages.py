"""The approvals inbox (live over SSE), an approval's page, and the reviewer's decision.

Decisions go through ``ApprovalService.decide`` with the logged-in identity as the decider, the
same path as ``POST /approvals/{id}/decision``; the loser of a race gets ``Conflict`` and the
page says who decided first. Edits are checked against the tool's argument schema here before
anything is decided (the workflow re-validates them with its own rules on resume).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from waypost.api.console.forms import changed, diff_arguments, form_fields, parse_arguments
from waypost.api.console.web import Page, PageContext, form_data, redirect, render, require_csrf
from waypost.api.deps import AppServices
from waypost.graphs.kit import Decision
from waypost.runtime.errors import Conflict, Forbidden, NotFound
from waypost.server.inbox import ApprovalContext, Inbox, action_of
from waypost.server.queue import approvals_key
from waypost.server.run_hook import trace_url_for

router = APIRouter(prefix="/console", include_in_schema=False)

_STREAM_WAIT_S = 5.0  # the safety net under the wake-ups (and the keep-alive interval)
_STREAM_LIFETIME_S = 300.0  # then the browser's EventSource reconnects by itself


@router.get("/approvals")
async def inbox(page: Page, services: AppServices) -> Response:
    items = await Inbox(services.queue.sessions).pending(page.user.tenant)
    return render(page, "inbox.html", items=items, nav="approvals")


@router.get("/approvals/stream")
async def inbox_stream(request: Request, page: Page, services: AppServices) -> Response:
    """The inbox rows as server-sent events: one ``inbox`` event whenever the set changes."""
    tenant = page.user.tenant
    source = Inbox(services.queue.sessions)
    signals = services.signals
    rows = _rows_template()

    async def events() -> AsyncIterator[str]:
        last: tuple[str, ...] | None = None
        ends = time.monotonic() + _STREAM_LIFETIME_S
        yield "retry: 2000\n\n"
        while time.monotonic() < ends:
            ticket = signals.ticket(approvals_key(tenant))  # before the read: no lost wake-up
            items = await source.pending(tenant)
            ids = tuple(i.id for i in items)
            if ids != last:
                last = ids
                data = json.dumps({"count": len(items), "html": rows.render(items=items)})
                yield f"event: inbox\ndata: {data}\n\n"
            if not await ticket.wait(_STREAM_WAIT_S):
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _rows_template() -> Any:
    from waypost.api.console.web import templates

    return templates.get_template("_inbox_rows.html")


async def _context(services: Any, tenant: str, approval_id: str) -> ApprovalContext:
    found = await Inbox(services.queue.sessions).context(tenant, approval_id)
    if found is None:
        raise NotFound(f"approval {approval_id} not found")
    return found


def _detail(
    page: PageContext,
    services: Any,
    ctx: ApprovalContext,
    *,
    status: int = 200,
    submitted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    notice: str | None = None,
) -> Response:
    payload = ctx.payload
    tool, arguments, summary = action_of(payload)
    allowed = payload.get("allowed") or ["approve", "edit", "reject"]
    fields = form_fields(payload.get("args_schema"), arguments, submitted, errors)
    trail = [
        {"event": e, "diff": diff_arguments(e.arguments_before, e.arguments_after)}
        for e in ctx.events
    ]
    return render(
        page,
        "approval.html",
        status=status,
        nav="approvals",
        ctx=ctx,
        approval=ctx.approval,
        payload=payload,
        tool=tool,
        arguments=arguments,
        summary=summary,
        details=payload.get("details") if isinstance(payload.get("details"), dict) else {},
        allowed=allowed,
        fields=fields,
        errors=errors or {},
        submitted=submitted or {},
        trail=trail,
        problem=problem,
        notice=notice,
        may_decide=page.can("decide") and ctx.approval.status == "pending",
        trace_url=trace_url_for(services.settings, ctx.approval.thread_id),
    )


@router.get("/approvals/{approval_id}")
async def approval_page(
    approval_id: str, page: Page, services: AppServices, decided: str | None = None
) -> Response:
    ctx = await _context(services, page.user.tenant, approval_id)
    notice = None
    if decided and ctx.approval.status != "pending":
        notice = f"Decision recorded: {ctx.approval.status}. The run resumes on a worker."
    return _detail(page, services, ctx, notice=notice)


@router.post("/approvals/{approval_id}")
async def decide(approval_id: str, request: Request, page: Page, services: AppServices) -> Response:
    """Approve, reject (with a comment) or edit the arguments; 409 page when beaten to it."""
    form = await form_data(request)
    require_csrf(page, form)
    who = page.user
    if not who.can("decide"):  # the access table refuses first; kept as a second lock
        raise Forbidden(f"role {who.role} may not decide approvals")
    ctx = await _context(services, who.tenant, approval_id)
    action = form.get("action", "")
    comment = form.get("comment", "").strip() or None
    allowed = ctx.payload.get("allowed") or ["approve", "edit", "reject"]
    if action not in ("approve", "reject", "edit") or action not in allowed:
        return _detail(page, services, ctx, status=422, problem=f"'{action}' is not offered here.")
    if comment is not None and len(comment) > 4000:
        return _detail(page, services, ctx, status=422, problem="The comment is too long.")
    arguments = None
    if action == "reject" and comment is None:
        return _detail(
            page, services, ctx, status=422, problem="Say why you reject it: add a comment."
        )
    if action == "edit":
        _tool, current, _summary = action_of(ctx.payload)
        arguments, errors = parse_arguments(ctx.payload.get("args_schema"), current, form)
        if errors:
            return _detail(
                page,
                services,
                ctx,
                status=422,
                submitted=form,
                errors=errors,
                problem="The edited arguments are invalid; nothing was decided.",
            )
        if not changed(ctx.payload.get("args_schema"), current, arguments):
            return _detail(
                page,
                services,
                ctx,
                status=422,
                submitted=form,
                problem="Nothing was changed: approve it instead, or change an argument.",
            )
    decision = Decision(
        decision=action,  # checked above
        comment=comment,
        arguments=arguments,
        decided_by=who.identity,
    )
    try:
        await services.approvals.decide(approval_id, decision)
    except Conflict as exc:
        fresh = await _context(services, who.tenant, approval_id)
        by = fresh.approval.decided_by or "someone else"
        problem = (
            f"Your decision was not applied: this approval was already {fresh.approval.status}"
            f" by {by}."
            if fresh.approval.status != "pending"
            else f"Your decision was not applied: {exc.message}"
        )
        return _detail(page, services, fresh, status=409, problem=problem)
    return redirect(f"/console/approvals/{approval_id}?decided=1", page)
