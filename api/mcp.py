"""Workflows as MCP tools, over streamable HTTP at ``/mcp`` (the official ``mcp`` SDK).

Every assistant the caller can see is one tool: a graph's default assistant is named after the
graph, any other ``<name>-<first 8 hex of its id>``; the tool's input schema is the workflow's
input schema. A call runs the workflow on a new thread to its end, like ``runs.wait``, and
returns its output. A call that reaches an approval does not wait for a human: it returns the
pending approval (its id, the tool and arguments it would run, why) and how to decide it, over
HTTP or with the ``decide_approval`` tool, which resumes the run and answers the same way.

``/mcp`` is an ordinary FastAPI route (``router``) whose handler hands the request to the SDK's
session manager, so route dependencies (the caller's tenant, API keys) apply to it as to every
other route. The session manager is stateless with JSON responses: any API process can answer
any MCP request.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import mcp_types as types
from fastapi import APIRouter, Request, Response
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send
from waypost.api.auth import Caller
from waypost.api.deps import get_services
from waypost.api.routes.workflows import WorkflowRunResult, run_workflow, workflow_result
from waypost.graphs.kit import Decision
from waypost.runtime.errors import AuthError, NotFound, WaypostError
from waypost.server.assistants import Assistant, system_assistant_id
from waypost.server.identity import Principal
from waypost.server.services import Services

__all__ = ["DECIDE_TOOL", "McpEndpoint", "tool_name"]

DECIDE_TOOL = "decide_approval"
_CALLER_KEY = "waypost.caller"
_DECIDE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approval_id": {"type": "string", "description": "the id of the pending approval"},
        "decision": {"type": "string", "enum": ["approve", "reject", "edit"]},
        "comment": {"type": "string", "description": "why (shown to the workflow on reject)"},
        "arguments": {
            "type": "object",
            "description": "for 'edit': the tool arguments to use instead",
        },
    },
    "required": ["approval_id", "decision"],
}


def tool_name(assistant: Assistant) -> str:
    """The MCP tool name of an assistant (``[A-Za-z0-9_-]``, at most 64 characters)."""
    if assistant.assistant_id == system_assistant_id(assistant.graph_id):
        base = assistant.graph_id
    else:
        base = f"{assistant.name}-{assistant.assistant_id[:8]}"
    return re.sub(r"[^A-Za-z0-9_-]+", "_", base)[-64:]


def _pending(approval: dict[str, Any]) -> dict[str, Any]:
    """What a caller needs to decide: the action (tool and arguments) and where to answer."""
    payload = approval.get("payload") or {}
    requests = payload.get("action_requests") if isinstance(payload, dict) else None
    first = requests[0] if isinstance(requests, list) and requests else {}
    tool = payload.get("tool") if isinstance(payload, dict) else None
    arguments = payload.get("arguments", payload.get("args")) if isinstance(payload, dict) else None
    return {
        "approval_id": approval["id"],
        "tool": tool or first.get("name"),
        "arguments": arguments if arguments is not None else first.get("args"),
        "why": payload.get("why") or payload.get("reason") or first.get("description")
        if isinstance(payload, dict)
        else None,
        "payload": payload,
        "how_to_decide": (
            f"call the {DECIDE_TOOL} tool with approval_id={approval['id']!r} and decision "
            "'approve', 'reject' (with a comment) or 'edit' (with arguments); or POST "
            f"/approvals/{approval['id']}/decision with the same fields"
        ),
    }


def _result(outcome: WorkflowRunResult) -> types.CallToolResult:
    body: dict[str, Any] = {
        "status": outcome.status,
        "run_id": outcome.run_id,
        "thread_id": outcome.thread_id,
    }
    if outcome.approval is not None:
        body["approval"] = _pending(outcome.approval)
    elif outcome.error is not None:
        body["error"] = outcome.error
    else:
        body["output"] = outcome.output
    text = json.dumps(body, default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=body,
        is_error=outcome.status == "error",
    )


def _failure(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )


class McpEndpoint:
    """The MCP server of one app: its tools are the services' assistants."""

    def __init__(self) -> None:
        self.server: Server[Any] = Server(
            "waypost",
            instructions=(
                "Each tool runs one Waypost workflow and returns its output, or the pending "
                f"approval it stopped at; decide approvals with {DECIDE_TOOL}."
            ),
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )
        self.manager = StreamableHTTPSessionManager(
            app=self.server, stateless=True, json_response=True
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The session manager's task group; entered once, in the app's lifespan."""
        async with self.manager.run():
            yield

    # -- the caller -----------------------------------------------------------------------------
    @staticmethod
    async def _context(ctx: Any) -> tuple[Services, Principal]:
        request = ctx.request
        if not isinstance(request, Request):
            raise WaypostError("MCP is served over HTTP only")
        who = request.scope.get(_CALLER_KEY)
        if not isinstance(who, Principal):
            raise AuthError("this MCP request carries no authenticated caller")
        return await get_services(request), who

    async def _tools(self, services: Services, tenant: str) -> dict[str, Assistant]:
        page = await services.assistants.search(
            tenant, limit=1000, sort_by="name", sort_order="asc"
        )
        return {tool_name(a): a for a in page.items}

    async def _input_schema(self, services: Services, assistant: Assistant) -> dict[str, Any]:
        spec = services.registry.get(assistant.graph_id)
        schema: Any = None
        if spec.input_schema is not None:
            schema = spec.input_schema.model_json_schema()
        else:
            graph = await services.graphs.graph(spec.name)
            try:
                schema = graph.get_input_jsonschema()
            except Exception:  # a state type without a JSON schema: any object
                schema = None
        if not isinstance(schema, dict) or schema.get("type") != "object":
            schema = {"type": "object", "additionalProperties": True}
        return dict(schema)

    # -- handlers -------------------------------------------------------------------------------
    async def _list_tools(
        self, ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        services, who = await self._context(ctx)
        tools = []
        for name, assistant in (await self._tools(services, who.tenant)).items():
            spec = services.registry.get(assistant.graph_id)
            description = assistant.description or spec.description
            tools.append(
                types.Tool(
                    name=name,
                    title=assistant.name,
                    description=f"{description} (assistant {assistant.assistant_id}, "
                    f"version {assistant.version})",
                    input_schema=await self._input_schema(services, assistant),
                )
            )
        tools.append(
            types.Tool(
                name=DECIDE_TOOL,
                title="Decide a pending approval",
                description="Approve, reject or edit the action a workflow paused before; the "
                "workflow resumes and this returns its output (or its next approval).",
                input_schema=_DECIDE_SCHEMA,
            )
        )
        return types.ListToolsResult(tools=tools)

    async def _call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        services, who = await self._context(ctx)
        arguments = dict(params.arguments or {})
        try:
            if params.name == DECIDE_TOOL:
                if not who.can("decide"):
                    return _failure(f"forbidden: role {who.role} may not decide approvals")
                return await self._decide(services, who, arguments)
            if not who.can("run"):
                return _failure(f"forbidden: role {who.role} may not start runs")
            assistant = (await self._tools(services, who.tenant)).get(params.name)
            if assistant is None:
                return _failure(f"unknown tool {params.name!r}")
            spec = services.registry.get(assistant.graph_id)
            if spec.input_schema is not None:
                arguments = spec.input_schema.model_validate(arguments).model_dump(mode="json")
            outcome = await run_workflow(
                services, spec, arguments, assistant_id=assistant.assistant_id, who=who
            )
        except WaypostError as exc:
            return _failure(f"{exc.code}: {exc.message}")
        except ValueError as exc:  # pydantic: the arguments do not match the input schema
            return _failure(f"invalid_input: {exc}")
        return _result(outcome)

    async def _decide(
        self, services: Services, who: Principal, arguments: dict[str, Any]
    ) -> types.CallToolResult:
        approval_id = str(arguments.get("approval_id") or "")
        decision = str(arguments.get("decision") or "")
        if decision not in ("approve", "reject", "edit"):
            return _failure("decision must be 'approve', 'reject' or 'edit'")
        if decision == "edit" and not isinstance(arguments.get("arguments"), dict):
            return _failure("an 'edit' decision needs the edited 'arguments'")
        approval = await services.approvals.get(approval_id)
        if approval.tenant != who.tenant:
            raise NotFound(f"approval {approval_id} not found")
        spec = services.registry.get(approval.workflow)
        _, run = await services.approvals.decide(
            approval_id,
            Decision(
                decision=cast(Any, decision),
                comment=arguments.get("comment"),
                arguments=arguments.get("arguments"),
                decided_by=who.identity,
            ),
        )
        return _result(await workflow_result(services, spec, run))

    # -- ASGI -----------------------------------------------------------------------------------
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


class _Handover(Response):
    """Hands the untouched request to the MCP session manager once the route's dependencies
    (tenant, auth) have run."""

    def __init__(self, endpoint: McpEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.endpoint.handle(scope, receive, send)


def mcp_router(endpoint: McpEndpoint) -> APIRouter:
    """``/mcp`` (GET, POST, DELETE) as a FastAPI route, dependencies and all."""
    router = APIRouter(tags=["mcp"])

    async def mcp(request: Request, who: Caller) -> Response:
        """MCP over streamable HTTP: every workflow is a tool."""
        request.scope[_CALLER_KEY] = who
        return _Handover(endpoint)

    router.add_api_route("/mcp", mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False)
    return router
