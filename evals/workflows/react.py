"""``react_baseline``: a plain LangGraph ReAct agent with the same model, tools and policy.

The comparison point for ``retail_support``: ``create_react_agent`` with the 16 store tools
(``as_langchain_tools``) and the policy text as its system prompt. It has no approval step (a
ReAct agent calls write tools directly), no validator and no typed plan; what it executes is
read back from its tool calls and tool results.
"""

from __future__ import annotations

import warnings
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from waypost.domains.retail import POLICY_PATH
from waypost.domains.retail.tools import build_retail_registry
from waypost.evals.dataset import WRITE_TOOLS
from waypost.evals.record import CaseRecord, ExecutedCall, StepUsage
from waypost.evals.workflows.base import CaseRun
from waypost.tools.base import ToolContext
from waypost.tools.langchain_adapter import as_langchain_tools

__all__ = ["POLICY_PATH", "ReactBaselineWorkflow"]

RECURSION_LIMIT = 40  # ~20 model turns: a support case needs far fewer


class ReactBaselineWorkflow:
    name = "react_baseline"

    def __init__(self, policy: str | None = None) -> None:
        self.policy = policy if policy is not None else POLICY_PATH.read_text(encoding="utf-8")

    def run(self, run: CaseRun) -> CaseRecord:
        from langgraph.prebuilt import create_react_agent

        case = run.case
        registry = build_retail_registry()
        tools = as_langchain_tools(
            registry,
            lambda: ToolContext(
                session_factory=run.store.session_factory, run_id=f"eval-{case.id}"
            ),
        )
        with warnings.catch_warnings():  # create_react_agent is deprecated in favour of
            warnings.simplefilter("ignore", DeprecationWarning)  # langchain.agents
            agent = create_react_agent(run.models.chat_model(), tools, prompt=self.policy)
            out = agent.invoke(
                {"messages": [HumanMessage(case.input.message)]},
                {"recursion_limit": RECURSION_LIMIT},
            )
        return _record(case.id, out["messages"], run.models.name)


def _record(case_id: str, messages: list[Any], model: str) -> CaseRecord:
    results = {m.tool_call_id: str(m.content) for m in messages if isinstance(m, ToolMessage)}
    executed: list[ExecutedCall] = []
    steps: list[StepUsage] = []
    reply = ""
    for m in messages:
        if not isinstance(m, AIMessage):
            continue
        usage: dict[str, Any] = dict(m.usage_metadata or {})
        steps.append(
            StepUsage(
                step="agent",
                model=model,
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
            )
        )
        for call in m.tool_calls:
            if call["name"] in WRITE_TOOLS:
                result = results.get(call.get("id") or "", "")
                failed = result.startswith("Error")
                executed.append(
                    ExecutedCall(
                        name=call["name"],
                        arguments=dict(call["args"]),
                        ok=not failed,
                        error=result if failed else None,
                    )
                )
        if m.content and not m.tool_calls:
            reply = m.content if isinstance(m.content, str) else str(m.content)
    done = [e for e in executed if e.ok]
    status = (
        "transferred"
        if any(e.name == "transfer_to_human_agents" for e in done)
        else "completed"
        if done
        else "nothing_to_do"
    )
    return CaseRecord(
        case_id=case_id,
        status=status,
        reply=reply,
        executed=executed,
        proposed=executed,
        steps=steps,
    )
