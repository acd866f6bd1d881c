"""A tool-calling agent step: an LLM that calls a domain's typed tools, within the kit's rules.

    begin -> agent <-> tools
               |
               +-> finish

- ``agent`` asks the model (native tool calls on providers, schema-constrained decoding on the
  local model) with the domain's system prompt and the conversation; at most ``max_steps``
  model calls per turn. A model error degrades the turn to an apology and status ``degraded``
  instead of failing the run.
- ``tools`` runs the calls of the model's last message: read tools at once; a call whose risk
  needs approval (``ApprovalPolicy``) pauses through the one approval protocol first; every
  call runs idempotently per (thread, turn, call id) through ``ToolRunner``, so a crash replay
  repeats nothing, and is reported to the run's ledger and trace.
- ``finish`` closes the turn: the reply is the last AI message, per-turn lists are reset at the
  next turn's ``begin``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from waypost.graphs.kit.approvals import ApprovalPolicy, ApprovalRequest, request_approval
from waypost.graphs.kit.tools import ToolRunner
from waypost.graphs.kit.turns import (
    ConversationState,
    begin_turn,
    message_text,
    per_turn,
    reset,
)
from waypost.runtime.errors import ModelError, ValidationFailed
from waypost.tools import RiskLevel

__all__ = ["AgentSettings", "AgentState", "build_tool_agent"]

_log = logging.getLogger(__name__)
DEGRADED_REPLY = (
    "I'm sorry, I can't complete this right now. A member of our team will follow up with you."
)
STEP_LIMIT_REPLY = (
    "I'm sorry, this needs more steps than I'm allowed to take; a member of our team will "
    "follow up with you."
)


class AgentState(ConversationState, total=False):
    executed: Annotated[list[dict[str, Any]], per_turn]  # consequential calls of this turn
    decisions: Annotated[list[dict[str, Any]], per_turn]
    steps: Annotated[list[dict[str, Any]], per_turn]
    agent_steps: int
    status: str
    reply: str


@dataclass(frozen=True)
class AgentSettings:
    """What makes an agent a domain's: its prompt, its limits and how it explains calls."""

    name: str
    system_prompt: str
    tools: Sequence[str] | None = None  # the registry's tools this agent may call (all: None)
    max_steps: int = 12
    history: int = 40  # messages sent to the model, newest last
    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    describe: Callable[[str, Mapping[str, Any]], str] | None = None
    policy_section: Callable[[str], str | None] | None = None
    status_of: Callable[[list[dict[str, Any]], list[dict[str, Any]]], str] | None = None


def _default_status(executed: list[dict[str, Any]], decisions: list[dict[str, Any]]) -> str:
    if any(e["ok"] for e in executed):
        return "completed"
    if decisions and all(d["decision"] == "reject" for d in decisions):
        return "rejected"
    return "nothing_to_do"


def _window(messages: list[AnyMessage], size: int) -> list[AnyMessage]:
    """The newest ``size`` messages, never starting inside a tool exchange."""
    out = list(messages[-size:])
    while out and isinstance(out[0], ToolMessage):
        out.pop(0)
    return out


def build_tool_agent(
    *,
    model: Any,
    runner: ToolRunner,
    settings: AgentSettings,
    checkpointer: Any = None,
    input_schema: type[Any] | None = None,
) -> Any:
    """Compile the agent. ``model`` is a chat model or a ``ModelChain`` (``bind_tools``)."""
    names = list(settings.tools) if settings.tools is not None else runner.registry.names
    specs = {n: runner.spec(n) for n in names}
    bound = model.bind_tools([s.openai_schema() for s in specs.values()])

    def begin(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        return {
            **begin_turn(state, config),
            "executed": reset(),
            "decisions": reset(),
            "steps": reset(),
            "agent_steps": 0,
            "status": "running",
            "reply": "",
        }

    def agent(state: AgentState, config: RunnableConfig) -> Command[Literal["tools", "finish"]]:
        taken = int(state.get("agent_steps") or 0)
        if taken >= settings.max_steps:
            return Command(
                goto="finish", update={"status": "step_limit", "reply": STEP_LIMIT_REPLY}
            )
        prompt = [
            SystemMessage(settings.system_prompt),
            *_window(state["messages"], settings.history),
        ]
        t0 = time.perf_counter()
        model_name: str | None = None
        try:
            if hasattr(bound, "invoke_with_info"):  # a ModelChain says which model answered
                info = bound.invoke_with_info(prompt, config)
                answer, model_name = info.output, info.model_name
            else:
                answer = bound.invoke(prompt, config)
        except ModelError as exc:
            _log.warning("agent model failed: %s", exc)
            return Command(
                goto="finish",
                update={
                    "status": "degraded",
                    "reply": DEGRADED_REPLY,
                    "steps": [{"step": "agent", "error_code": exc.code}],
                },
            )
        if not isinstance(answer, AIMessage):
            answer = AIMessage(str(getattr(answer, "content", answer)))
        calls = list(answer.tool_calls)
        if calls and not all(c.get("id") for c in calls):  # ids key the calls' idempotency
            for i, c in enumerate(calls):
                c["id"] = c.get("id") or f"call-{taken}-{i}"
            answer = answer.model_copy(update={"tool_calls": calls})
        usage: dict[str, Any] = dict(answer.usage_metadata or {})
        step = {
            "step": "agent",
            "model": model_name or answer.response_metadata.get("model_name"),
            "input_tokens": int(usage.get("input_tokens", 0)),
            "output_tokens": int(usage.get("output_tokens", 0)),
            "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
            "tool_calls": [c["name"] for c in calls],
        }
        update: dict[str, Any] = {
            "messages": [answer],
            "agent_steps": taken + 1,
            "steps": [step],
        }
        if calls:
            return Command(goto="tools", update=update)
        update["reply"] = message_text(answer)
        return Command(goto="finish", update=update)

    def tools(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        last = state["messages"][-1]
        calls = list(getattr(last, "tool_calls", []) or [])
        out: list[ToolMessage] = []
        executed: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        policy = settings.policy.from_config(config)
        for call in calls:
            name, call_id = call["name"], str(call["id"])
            args = dict(call.get("args") or {})
            if name not in specs:
                out.append(_error(call_id, name, f"unknown tool {name!r}; use one of {names}"))
                continue
            spec = specs[name]
            try:
                args = runner.registry.get(name).validate(args).model_dump(mode="json")
            except ValidationFailed as exc:
                out.append(_error(call_id, name, exc.message))
                continue
            if policy.needs_approval(spec, args):
                decision = request_approval(
                    ApprovalRequest(
                        tool=name,
                        arguments=args,
                        summary=settings.describe(name, args) if settings.describe else name,
                        risk=spec.risk,
                        call_id=call_id,
                        turn_id=state.get("turn_id"),
                        policy=settings.policy_section(name) if settings.policy_section else None,
                        args_schema=spec.parameters,
                    )
                )
                decisions.append({"call_id": call_id, "tool": name, **decision.resume_value()})
                if decision.decision == "reject":
                    why = f": {decision.comment}" if decision.comment else ""
                    out.append(_error(call_id, name, f"the reviewer rejected this action{why}"))
                    continue
                if decision.decision == "edit":
                    try:
                        args = (
                            runner.registry.get(name)
                            .validate({**args, **(decision.arguments or {})})
                            .model_dump(mode="json")
                        )
                    except ValidationFailed as exc:
                        out.append(
                            _error(call_id, name, f"the reviewer's edit is invalid: {exc.message}")
                        )
                        continue
            result = runner.call(name, args, state=state, config=config, call_id=call_id)
            if spec.risk is not RiskLevel.READ:
                executed.append(result)
            content = (
                json.dumps(result["result"], default=str)
                if result["ok"]
                else f"Error: {result['error_message']}"
            )
            out.append(
                ToolMessage(
                    content=content,
                    tool_call_id=call_id,
                    name=name,
                    status="success" if result["ok"] else "error",
                )
            )
        return {"messages": out, "executed": executed, "decisions": decisions}

    def finish(state: AgentState) -> dict[str, Any]:
        status = state.get("status") or "running"
        if status == "running":
            status = (settings.status_of or _default_status)(
                list(state.get("executed") or []), list(state.get("decisions") or [])
            )
        reply = state.get("reply") or ""
        messages = list(state.get("messages") or [])
        update: dict[str, Any] = {"status": status, "message": None}
        last = messages[-1] if messages else None
        if not (
            isinstance(last, AIMessage) and not last.tool_calls and message_text(last) == reply
        ):
            update["messages"] = [AIMessage(reply, id=f"ai-{state.get('turn_id')}")]
            update["turn_start"] = len(messages) + 1
        else:
            update["turn_start"] = len(messages)
        return update

    builder = (
        StateGraph(AgentState, input_schema=input_schema)
        if input_schema
        else StateGraph(AgentState)
    )
    builder.add_node("begin", begin)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_node("finish", finish)
    builder.add_edge(START, "begin")
    builder.add_edge("begin", "agent")
    builder.add_edge("tools", "agent")
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer, name=settings.name)


def _error(call_id: str, name: str, message: str) -> ToolMessage:
    return ToolMessage(content=f"Error: {message}", tool_call_id=call_id, name=name, status="error")
