"""Typed endpoints: ``POST /workflows/{name}/runs`` per workflow and ``GET /runs/{run_id}``.

Each workflow's request body is its declared ``input_schema``, so OpenAPI documents it; the
answer is the typed output (validated against ``output_schema``) or the pending approval when
the workflow paused before a risky action.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from waypost.api.auth import caller
from waypost.api.deps import get_services
from waypost.api.run_io import wait_for_run
from waypost.graphs.registry import GraphRegistry, WorkflowSpec
from waypost.runtime.errors import ValidationFailed, WaypostError
from waypost.server import RunRequest
from waypost.server.approvals import approval_json
from waypost.server.assistants import system_assistant_id
from waypost.server.graph_checks import graph_input_errors
from waypost.server.identity import ANONYMOUS, Principal
from waypost.server.models import Run
from waypost.server.run_hook import trace_url_for
from waypost.server.serde import iso
from waypost.server.services import Services

__all__ = ["WorkflowRunResult", "router", "run_workflow", "workflow_result", "workflow_router"]

router = APIRouter(tags=["runs"])


class WorkflowRunResult(BaseModel):
    run_id: str
    thread_id: str
    status: str
    output: Any = None
    approval: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class RunSummary(BaseModel):
    run_id: str
    thread_id: str
    workflow: str
    assistant_id: str
    assistant_version: int | None = None
    status: str
    attempt: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    input_tokens: int
    output_tokens: int
    usd: float
    error: dict[str, Any] | None = None
    trace_url: str | None = None
    tenant: str = "default"
    quota: dict[str, dict[str, float | None]] | None = Field(
        default=None, description="The tenant's usage against its quotas (when it has any)."
    )


async def run_workflow(
    services: Services,
    spec: WorkflowSpec,
    payload: dict[str, Any],
    *,
    assistant_id: str | None = None,
    who: Principal = ANONYMOUS,
) -> WorkflowRunResult:
    """Run a workflow (its system assistant, or ``assistant_id``) on a new thread to its end or
    its first pending approval; the typed routes and the MCP tools answer with this."""
    if spec.input_schema is None:  # e.g. a langgraph.json graph: check against its state types
        errors = graph_input_errors(await services.graphs.graph(spec.name), payload)
        if errors:
            raise ValidationFailed(
                f"input does not fit workflow {spec.name}'s input schema",
                details={"errors": errors},
            )
    thread = await services.store.create_thread(None, {"workflow": spec.name}, tenant=who.tenant)
    run = await services.store.create_run(
        thread.thread_id,
        RunRequest(
            assistant_id=assistant_id or system_assistant_id(spec.name),
            input=payload,
            config={"configurable": who.run_identity()},
            tenant=who.tenant,
            caller=who.identity,
        ),
    )
    return await workflow_result(services, spec, run)


async def workflow_result(services: Services, spec: WorkflowSpec, run: Run) -> WorkflowRunResult:
    """Wait for ``run``; its typed output, its error, or the approval it stopped at."""
    done = await wait_for_run(services, run.run_id)
    status = done.status if done else "error"
    result = WorkflowRunResult(
        run_id=run.run_id,
        thread_id=run.thread_id,
        status=status,
        error=done.error if done else None,
    )
    pending = await services.approvals.list(status="pending", thread_id=run.thread_id)
    if pending:
        result.status, result.approval = "interrupted", approval_json(pending[0])
        return result
    output = (done.output if done else None) or {}
    if spec.output_schema is not None and status == "success":
        try:
            output = spec.output_schema.model_validate(output).model_dump(mode="json")
        except Exception as exc:
            raise WaypostError(
                f"workflow {spec.name} produced output that does not match its output schema: {exc}"
            ) from exc
    result.output = output
    return result


def _endpoint(spec: WorkflowSpec) -> Callable[..., Awaitable[WorkflowRunResult]]:
    model = spec.input_schema

    async def run_typed(body: Any, services: Services, who: Principal) -> WorkflowRunResult:
        payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else dict(body)
        return await run_workflow(services, spec, payload, who=who)

    body_type = model if model is not None else dict[str, Any]
    signature = inspect.Signature(
        [
            inspect.Parameter(
                "body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=body_type
            ),
            inspect.Parameter(
                "services",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Services,
                default=Depends(get_services),
            ),
            inspect.Parameter(
                "who",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Principal,
                default=Depends(caller),
            ),
        ]
    )
    setattr(run_typed, "__signature__", signature)  # noqa: B010 - FastAPI reads it
    run_typed.__annotations__ = {
        "body": body_type,
        "services": Services,
        "who": Principal,
        "return": WorkflowRunResult,
    }
    return run_typed


def workflow_router(registry: GraphRegistry) -> APIRouter:
    """One typed ``POST /workflows/{name}/runs`` route per registered workflow."""
    typed = APIRouter(prefix="/workflows", tags=["workflows"])
    for spec in registry.specs():
        typed.add_api_route(
            f"/{spec.name}/runs",
            _endpoint(spec),
            methods=["POST"],
            response_model=WorkflowRunResult,
            summary=f"Run {spec.name}",
            description=spec.description,
            name=f"run_{spec.name}",
        )
    return typed


@router.get("/runs/{run_id}", response_model=RunSummary)
async def get_run_summary(run_id: str, services: Services = Depends(get_services)) -> RunSummary:
    """Status, timing, token usage and cost of a run (so far, while it runs)."""
    run = await services.store.get_run(run_id)
    duration = None
    if run.started_at is not None:
        end = run.finished_at or run.updated_at
        duration = max((end - run.started_at).total_seconds(), 0.0)
    return RunSummary(
        run_id=run.run_id,
        thread_id=run.thread_id,
        workflow=run.graph_id,
        assistant_id=run.assistant_id,
        assistant_version=run.assistant_version,
        status=run.status,
        attempt=run.attempt,
        created_at=iso(run.created_at),
        started_at=iso(run.started_at),
        finished_at=iso(run.finished_at),
        duration_s=duration,
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        usd=run.usd,
        error=run.error,
        trace_url=trace_url_for(services.settings, run.thread_id),
        tenant=run.tenant,
        quota=(
            await asyncio.to_thread(services.quotas.usage, run.tenant)
            if services.quotas.limits(run.tenant).any
            else None
        ),
    )
