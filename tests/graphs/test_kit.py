"""The workflow kit's building blocks: turns, the approval protocol, risk policy, replays."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from sqlalchemy.engine import Engine
from waypost.domains.retail.tools import build_retail_registry, export_tau2_db, seed_store
from waypost.graphs.kit import (
    RUN_TENANT_KEY,
    ApprovalPolicy,
    ApprovalRequest,
    Decision,
    StepModelsCaller,
    ToolRunner,
    begin_turn,
    end_turn,
    per_turn,
    reset,
    run_tenant,
)
from waypost.runtime.db import make_session_factory
from waypost.runtime.settings import Settings
from waypost.tools import RiskLevel, ToolArgs, ToolContext, ToolRegistry, ToolSpec, tool

from tests.fakes import ScriptedChatModel


def spec(risk: RiskLevel, name: str = "t") -> ToolSpec:
    return ToolSpec(name=name, description="", risk=risk, parameters={})


# -- turns -----------------------------------------------------------------------------------


def test_per_turn_lists_append_within_a_turn_and_restart_at_the_next() -> None:
    items = per_turn(None, [1])
    items = per_turn(items, [2])
    assert items == [1, 2]
    assert per_turn(items, reset()) == []
    assert per_turn(items, reset([9])) == [9]


def test_a_turn_takes_the_run_id_and_the_new_text_once() -> None:
    config: Any = {"configurable": {"thread_id": "t", "run_id": "run-7"}}
    first = begin_turn({"message": "cancel my order"}, config)
    assert first["turn_id"] == "run-7" and first["turn"] == 1
    assert [m.content for m in first["messages"]] == ["cancel my order"]
    # the conversation so far, then a chat UI sends the next message as `messages`
    history = [*first["messages"], AIMessage("Who are you?")]
    state: Any = {
        **first,
        **end_turn({"messages": history[:1], "turn_id": "run-7"}, "Who are you?"),
        "messages": [*history, HumanMessage("Ada Byron, 62701")],
    }
    assert state["turn_start"] == 2 and state["message"] is None
    second = begin_turn(state, {"configurable": {"run_id": "run-8"}})
    assert second["turn_id"] == "run-8" and second["turn"] == 2
    assert "messages" not in second  # already appended by the client
    assert second["message"] == "Ada Byron, 62701"


def test_a_repeated_sentence_in_a_new_turn_is_a_new_message() -> None:
    state: Any = {
        "messages": [HumanMessage("yes"), AIMessage("Sure?")],
        "turn_start": 2,
        "message": "yes",
    }
    update = begin_turn(state, {"configurable": {}})
    assert [m.content for m in update["messages"]] == ["yes"]


# -- the approval protocol --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kind", "arguments", "comment"),
    [
        (True, "approve", None, None),
        ("yes", "approve", None, None),
        ("no", "reject", None, None),
        ({"decision": "approve", "comment": "ok"}, "approve", None, "ok"),
        ({"decision": "edit", "arguments": {"reason": "x"}}, "edit", {"reason": "x"}, None),
        ({"decisions": [{"type": "approve"}]}, "approve", None, None),
        ({"decisions": [{"type": "reject", "message": "too much"}]}, "reject", None, "too much"),
        (
            {"decisions": [{"type": "edit", "edited_action": {"name": "t", "args": {"a": 1}}}]},
            "edit",
            {"a": 1},
            None,
        ),
        ({"decision": "launch"}, "reject", None, None),
        (42, "reject", None, "unreadable decision"),
    ],
)
def test_every_answer_form_reads_as_one_decision(answer, kind, arguments, comment) -> None:
    decision = Decision.parse(answer)
    assert (decision.decision, decision.arguments, decision.comment) == (kind, arguments, comment)


def test_the_request_carries_langchain_hitl_fields() -> None:
    request = ApprovalRequest(
        tool="cancel_pending_order",
        arguments={"order_id": "#W1"},
        summary="cancel order #W1",
        risk=RiskLevel.IRREVERSIBLE,
        call_id="action-0",
        allowed=["approve", "reject"],
    )
    payload = request.payload()
    assert payload["action_requests"] == [
        {
            "name": "cancel_pending_order",
            "args": {"order_id": "#W1"},
            "description": "cancel order #W1",
        }
    ]
    assert payload["review_configs"] == [
        {"action_name": "cancel_pending_order", "allowed_decisions": ["approve", "reject"]}
    ]
    assert payload["tool"] == "cancel_pending_order" and payload["risk"] == "irreversible"


def test_risk_decides_what_needs_approval() -> None:
    default = ApprovalPolicy()
    assert not default.needs_approval(spec(RiskLevel.READ), {})
    assert not default.needs_approval(spec(RiskLevel.WRITE), {})
    assert default.needs_approval(spec(RiskLevel.IRREVERSIBLE), {})
    by_amount = ApprovalPolicy(write_above=50, amount=lambda _tool, args: float(args["usd"]))
    assert not by_amount.needs_approval(spec(RiskLevel.WRITE), {"usd": 10})
    assert by_amount.needs_approval(spec(RiskLevel.WRITE), {"usd": 50})
    # an assistant's configuration may tighten it
    strict = default.from_config({"configurable": {"approval": {"levels": ["write"]}}})
    assert strict.needs_approval(spec(RiskLevel.WRITE), {})
    assert not strict.needs_approval(spec(RiskLevel.IRREVERSIBLE), {})


# -- replays compare arguments ----------------------------------------------------------------


def test_a_replay_with_other_arguments_is_a_conflict_not_a_success(migrated_engine: Engine) -> None:
    factory = make_session_factory(migrated_engine)
    seed_store(factory, None, force=False)
    with factory() as session:
        db = export_tau2_db(session)
    pending = [o for o in db["orders"].values() if o["status"] == "pending"][:2]
    registry = build_retail_registry()
    ctx = ToolContext(session_factory=factory, run_id="thread-1/turn-1")
    first = registry.execute(
        "cancel_pending_order",
        {"order_id": pending[0]["order_id"], "reason": "no longer needed"},
        ctx,
        "action-0",
    )
    assert first.ok
    other = registry.execute(
        "cancel_pending_order",
        {"order_id": pending[1]["order_id"], "reason": "no longer needed"},
        ctx,
        "action-0",
    )
    assert not other.ok and not other.replayed
    assert other.error is not None and other.error.code == "conflict"
    with factory() as session:
        assert export_tau2_db(session)["orders"][pending[1]["order_id"]]["status"] == "pending"
    # the next turn is another scope: the same call id acts
    next_turn = ToolContext(session_factory=factory, run_id="thread-1/turn-2")
    again = registry.execute(
        "cancel_pending_order",
        {"order_id": pending[1]["order_id"], "reason": "no longer needed"},
        next_turn,
        "action-0",
    )
    assert again.ok and not again.replayed


# -- tools see the run's tenant ---------------------------------------------------------------


@tool(risk=RiskLevel.READ, result=str, description="Whose call this is.")
def whoami(ctx: ToolContext, args: ToolArgs) -> str:
    return str(ctx.tenant)


def test_a_served_runs_tenant_reaches_its_tools(migrated_engine: Engine) -> None:
    """One compiled graph serves every tenant: a tool call is scoped by the run's tenant (the
    server's ``configurable.tenant``), the runner's own tenant only outside a served run."""
    factory = make_session_factory(migrated_engine)
    runner = ToolRunner(ToolRegistry([whoami]), factory, tenant="cli-tenant")
    state: Any = {"turn_id": "turn-1"}

    def tenant_of(config: Any) -> str:
        return str(runner.call("whoami", {}, state=state, config=config, call_id="c")["result"])

    served = {"configurable": {"thread_id": "t", RUN_TENANT_KEY: "acme"}}
    assert run_tenant(served) == "acme"
    assert tenant_of(served) == "acme"
    assert tenant_of({"configurable": {"thread_id": "t"}}) == "cli-tenant"
    assert ToolRunner(ToolRegistry([whoami]), factory).read("whoami") == "None"


# -- model steps ------------------------------------------------------------------------------


def test_a_steps_model_chain_is_built_once_from_its_models(settings: Settings) -> None:
    built: list[str] = []

    def factory(name: str) -> ScriptedChatModel:
        built.append(name)
        return ScriptedChatModel(responses=["hi"], model_name=name)

    caller = StepModelsCaller(
        settings, model_factory=factory, step_models={"agent": ("openai:a", "openai:b")}
    )
    chain = caller.chain("agent")
    assert caller.chain("agent") is chain
    assert built == ["openai:a", "openai:b"]
    assert chain.invoke_with_info([HumanMessage("x")]).model_name == "openai:a"
    caller.chain("other")  # a step without its own models uses the default model
    assert built[-1] == settings.models.default
