"""The retail workflows: ``retail_support`` (typed plan, code validator) and ``retail_agent``
(the ReAct baseline rebuilt on the kit: one tool-calling agent step, same tools and policy,
risk-gated approvals, idempotent writes, turns)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.engine import Engine
from waypost.domains.retail import POLICY_PATH
from waypost.domains.retail.graph import (
    POLICY_OF,
    RETAIL_APPROVALS,
    RetailGraphConfig,
    build_retail_graph,
)
from waypost.domains.retail.knowledge import RetailKnowledge
from waypost.domains.retail.state import ACTION_TOOLS, RetailInput, RetailOutput
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.graphs.kit import AgentSettings, StepModelsCaller, ToolRunner, build_tool_agent
from waypost.graphs.registry import GraphDeps, WorkflowSpec
from waypost.retrieval.embeddings import make_embedder
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import Settings

__all__ = [
    "RETAIL_STEPS",
    "describe_step",
    "make_structured_call",
    "retail_agent_spec",
    "retail_support_spec",
]

# The judgement steps and the models they use: the smallest capable first, then fallbacks.
# Overridden per deployment with deps.overrides["step_models"] = {"plan": ("openai:...",)}.
RETAIL_STEPS = ("intake", "plan")
_POLICY_OF_TOOL = {tool: POLICY_OF[kind] for kind, tool in ACTION_TOOLS.items()}


def make_structured_call(
    settings: Settings,
    *,
    model_factory: Any = None,
    step_models: dict[str, tuple[str, ...]] | None = None,
) -> StepModelsCaller:
    """The structured judgement steps of ``retail_support`` over the model layer, routed by
    the deployment's routing table (``WAYPOST_ROUTING__*``) and a run's
    ``config.configurable.routing``."""
    return StepModelsCaller(
        settings, model_factory=model_factory, step_models=step_models, workflow="retail_support"
    )


def _session_factory(deps: GraphDeps) -> Any:
    if deps.session_factory is not None:
        return deps.session_factory
    return make_session_factory(make_engine(deps.settings.database))


def _knowledge(deps: GraphDeps, store: StoreClient) -> RetailKnowledge:
    """Cited product answers from the store's knowledge collection, in the app database."""
    bind = store.session_factory.kw.get("bind")
    engine = bind if isinstance(bind, Engine) else make_engine(deps.settings.database)
    return RetailKnowledge(engine, make_embedder(deps.settings.retrieval))


def build(deps: GraphDeps) -> Any:
    """Build ``retail_support`` from injected dependencies (the registry's factory)."""
    store = StoreClient(build_retail_registry(), _session_factory(deps))
    structured = None
    if not deps.overrides.get("code_only"):
        structured = make_structured_call(
            deps.settings,
            model_factory=deps.model_factory,
            step_models=deps.overrides.get("step_models"),
        )
    config = deps.overrides.get("graph_config") or RetailGraphConfig()
    if config.knowledge is None and deps.overrides.get("knowledge", True):
        config = replace(config, knowledge=_knowledge(deps, store))
    return build_retail_graph(
        store=store, structured=structured, checkpointer=deps.checkpointer, config=config
    )


def describe_step(node: str, update: Any) -> str:
    """One line per node update, for ``waypost run``."""
    if not isinstance(update, dict):
        return ""
    if node == "intake":
        intake = update.get("intake", {})
        kinds = [r["kind"] for r in intake.get("requests", [])]
        ident = {k: v for k, v in intake.get("identity", {}).items() if v}
        return f"identity={ident} requests={kinds}"
    if node == "authenticate":
        return f"user_id={update.get('user_id')}" if "user_id" in update else "known customer"
    if node == "gather":
        return f"{len(update.get('orders', {}))} orders, {len(update.get('products', {}))} products"
    if node == "plan":
        return f"{len(update.get('plan', []))} action(s): " + ", ".join(
            a["kind"] for a in update.get("plan", [])
        )
    if node == "execute":
        ex = (update.get("executed") or [{}])[0]
        return f"{ex.get('tool')} ok={ex.get('ok')}" + (
            f" ({ex.get('error_message')})" if not ex.get("ok") else ""
        )
    if node in ("reply", "finish"):
        return f"status={update.get('status')}"
    if node == "tools":
        return ", ".join(m.name or "" for m in update.get("messages", []) if hasattr(m, "name"))
    return ""


def retail_support_spec() -> WorkflowSpec:
    return WorkflowSpec(
        name="retail_support",
        description=(
            "Customer support for an online store: identifies the customer, looks up orders and "
            "products, plans cancellations, modifications, returns and exchanges, checks them "
            "against policy, asks a human to approve each one, executes it and replies. A "
            "thread is a conversation: it asks for what it is missing and continues."
        ),
        build=build,
        input_schema=RetailInput,
        output_schema=RetailOutput,
        version="2",
        metadata={"policy": "domains/retail/policy.md", "steps_with_models": list(RETAIL_STEPS)},
        describe_step=describe_step,
    )


# -- retail_agent ---------------------------------------------------------------------------


class RetailAgentOutput(BaseModel):
    """What a finished ``retail_agent`` turn returns."""

    status: str
    reply: str
    actions_executed: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_state(cls, data: Any) -> Any:
        if isinstance(data, dict) and "actions_executed" not in data:
            return {**data, "actions_executed": data.get("executed") or []}
        return data


def _describe_call(tool: str, arguments: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
    return f"{tool}({shown})"


def _agent_status(executed: list[dict[str, Any]], decisions: list[dict[str, Any]]) -> str:
    if any(e["ok"] and e["tool"] == "transfer_to_human_agents" for e in executed):
        return "transferred"
    if any(e["ok"] for e in executed):
        return "completed"
    if decisions and all(d["decision"] == "reject" for d in decisions):
        return "rejected"
    return "nothing_to_do"


def agent_settings() -> AgentSettings:
    return AgentSettings(
        name="retail_agent",
        system_prompt=POLICY_PATH.read_text(encoding="utf-8"),
        max_steps=20,
        policy=RETAIL_APPROVALS,
        describe=_describe_call,
        policy_section=_POLICY_OF_TOOL.get,
        status_of=_agent_status,
    )


def build_agent(deps: GraphDeps) -> Any:
    """Build ``retail_agent``: the 16 retail tools behind one tool-calling agent step."""
    runner = ToolRunner(build_retail_registry(), _session_factory(deps))
    caller = StepModelsCaller(
        deps.settings,
        model_factory=deps.model_factory,
        step_models=deps.overrides.get("step_models"),
        workflow="retail_agent",
    )
    return build_tool_agent(
        model=caller.chain("agent"),
        runner=runner,
        settings=agent_settings(),
        checkpointer=deps.checkpointer,
    )


def retail_agent_spec() -> WorkflowSpec:
    return WorkflowSpec(
        name="retail_agent",
        description=(
            "The retail store's support as one tool-calling agent (ReAct) on the kit: the same "
            "16 tools and policy as retail_support, every consequential call approved by a "
            "human, executed idempotently per turn."
        ),
        build=build_agent,
        input_schema=RetailInput,
        output_schema=RetailAgentOutput,
        version="1",
        metadata={"policy": "domains/retail/policy.md", "steps_with_models": ["agent"]},
        describe_step=describe_step,
    )
