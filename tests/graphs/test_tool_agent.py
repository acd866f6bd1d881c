"""The kit's tool-calling agent step (``retail_agent``): reads at once, risky calls through an
approval, idempotent per turn, bounded, and degraded rather than failed on model errors."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from waypost.domains.retail.tools import build_retail_registry
from waypost.domains.retail.workflow import agent_settings
from waypost.graphs.kit import ToolRunner, build_tool_agent
from waypost.runtime.errors import ProviderError

from tests.fakes import ScriptedChatModel

call = ScriptedChatModel.tool_call
CANCEL = {"order_id": "#W0000001", "reason": "ordered by mistake"}


@pytest.fixture
def make_agent(store_factory):
    def make(model: ScriptedChatModel, **overrides: Any) -> Any:
        settings = agent_settings()
        if overrides:
            from dataclasses import replace

            settings = replace(settings, **overrides)
        return build_tool_agent(
            model=model,
            runner=ToolRunner(build_retail_registry(), store_factory),
            settings=settings,
            checkpointer=InMemorySaver(),
        )

    return make


def cfg(run_id: str) -> dict:
    return {"configurable": {"thread_id": "agent", "run_id": run_id}}


def test_reads_run_at_once_and_a_write_waits_for_approval(make_agent, export) -> None:
    model = ScriptedChatModel(
        responses=[
            call(
                "find_user_id_by_name_zip",
                {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
            ),
            call("cancel_pending_order", CANCEL, id="c-1"),
            "Your order #W0000001 is cancelled.",
        ]
    )
    agent = make_agent(model)
    agent.invoke({"message": "Ada Byron, 62701: cancel #W0000001"}, cfg("r1"))
    state = agent.get_state(cfg("x"))
    request = state.interrupts[0].value
    assert (request["tool"], request["arguments"], request["call_id"]) == (
        "cancel_pending_order",
        CANCEL,
        "c-1",
    )
    assert request["policy"].startswith("§5")
    # the read's result reached the model before it proposed the write
    assert "ada_byron_1815" in model.calls[1].messages[-1].content
    assert export()["orders"]["#W0000001"]["status"] == "pending"

    out = agent.invoke(Command(resume={"decision": "approve"}), cfg("r1b"))
    assert out["status"] == "completed"
    assert out["reply"] == "Your order #W0000001 is cancelled."
    assert export()["orders"]["#W0000001"]["status"] == "cancelled"
    assert [e["tool"] for e in out["executed"]] == ["cancel_pending_order"]


def test_a_rejected_call_is_not_run_and_the_model_hears_why(make_agent, export) -> None:
    model = ScriptedChatModel(
        responses=[call("cancel_pending_order", CANCEL, id="c-1"), "Understood, nothing changed."]
    )
    agent = make_agent(model)
    agent.invoke({"message": "cancel #W0000001"}, cfg("r1"))
    out = agent.invoke(Command(resume={"decision": "reject", "comment": "not eligible"}), cfg("r2"))
    assert out["status"] == "rejected"
    assert export()["orders"]["#W0000001"]["status"] == "pending"
    assert "rejected this action: not eligible" in model.calls[1].messages[-1].content


def test_an_edited_call_runs_with_the_reviewers_arguments(make_agent, export) -> None:
    model = ScriptedChatModel(
        responses=[
            call("cancel_pending_order", {"order_id": "#W0000001", "reason": "no longer needed"}),
            "Done.",
        ]
    )
    agent = make_agent(model)
    agent.invoke({"message": "cancel #W0000001"}, cfg("r1"))
    agent.invoke(
        Command(resume={"decision": "edit", "arguments": {"reason": "ordered by mistake"}}),
        cfg("r2"),
    )
    assert export()["orders"]["#W0000001"]["cancel_reason"] == "ordered by mistake"


def test_a_model_failure_degrades_the_turn(make_agent) -> None:
    model = ScriptedChatModel(responses=[ProviderError("upstream down", status=503)])
    out = make_agent(model).invoke({"message": "hello"}, cfg("r1"))
    assert out["status"] == "degraded"
    assert "follow up" in out["reply"]
    assert out["messages"][-1].content == out["reply"]


def test_model_calls_per_turn_are_bounded(make_agent) -> None:
    lookups = [call("list_all_product_types", {}) for _ in range(3)]
    out = make_agent(ScriptedChatModel(responses=lookups), max_steps=3).invoke(
        {"message": "what do you sell?"}, cfg("r1")
    )
    assert out["status"] == "step_limit"


def test_each_turn_acts_afresh(make_agent, export) -> None:
    model = ScriptedChatModel(
        responses=[
            call("modify_user_address", _address("1 First St"), id="same-id"),
            "Updated.",
            call("modify_user_address", _address("2 Second St"), id="same-id"),
            "Updated again.",
        ]
    )
    agent = make_agent(model)
    agent.invoke({"message": "new address 1 First St"}, cfg("t1"))
    agent.invoke(Command(resume="approve"), cfg("t1b"))
    agent.invoke({"message": "sorry, 2 Second St"}, cfg("t2"))
    second = agent.invoke(Command(resume="approve"), cfg("t2b"))
    assert second["executed"][0]["replayed"] is False
    assert export()["users"]["ada_byron_1815"]["address"]["address1"] == "2 Second St"


def _address(line: str) -> dict[str, str]:
    return {
        "user_id": "ada_byron_1815",
        "address1": line,
        "address2": "",
        "city": "Springfield",
        "state": "IL",
        "country": "USA",
        "zip": "62701",
    }
