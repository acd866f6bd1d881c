"""Per-step routing on the retail workflow: table routes, fallbacks, cascades, run overrides."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from waypost.agents.routing import parse_routing
from waypost.domains.retail.graph import build_retail_graph
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.graphs.kit import StepModelsCaller
from waypost.runtime.settings import Settings

from tests.fakes import Fault, ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN

SMALL, BIG = "local:small-model", "local:big-model"
BAD_PLAN = {
    "actions": [{"kind": "cancel_order", "order_id": "#W0000002", "reason": "no longer needed"}]
}


def cfg(**configurable: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": "t1", **configurable}}


@pytest.fixture
def routed_graph(store_factory):
    def make(models: dict[str, ScriptedChatModel], routing: dict[str, Any]) -> Any:
        settings = Settings(env="test", _env_file=None)  # type: ignore[call-arg]
        caller = StepModelsCaller(
            settings,
            model_factory=lambda name: models[name],
            workflow="retail_support",
            routing=parse_routing(routing),
        )
        return build_retail_graph(
            store=StoreClient(build_retail_registry(), store_factory),
            structured=caller,
            checkpointer=InMemorySaver(),
        )

    return make


def _plan_steps(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in state["steps"] if s["step"] == "plan"]


CASCADE = {
    "retail_support": {
        "intake": {"model": SMALL},
        "plan": {"model": SMALL, "fallbacks": [BIG], "cascade": True},
    }
}


def test_cascade_escalates_the_plan_alone_after_the_validator_rejects_it(
    routed_graph, export
) -> None:
    small = ScriptedChatModel(responses=[CANCEL_INTAKE, BAD_PLAN])
    big = ScriptedChatModel(responses=[CANCEL_PLAN])
    graph = routed_graph({SMALL: small, BIG: big}, CASCADE)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())

    payload = graph.get_state(cfg()).interrupts[0].value
    assert payload["arguments"]["order_id"] == "#W0000001"
    out = graph.invoke(Command(resume="approve"), cfg())
    assert out["status"] == "completed"
    assert export()["orders"]["#W0000001"]["status"] == "cancelled"

    intake = next(s for s in out["steps"] if s["step"] == "intake")
    assert (intake["model"], intake["route_reason"]) == (SMALL, "table")
    first, second = _plan_steps(out)
    assert (first["model"], first["route_reason"]) == (SMALL, "table")
    assert second["model"] == BIG
    assert second["route_reason"].startswith("cascade:action 0: ")
    assert "#W0000002" in second["route_reason"]
    # the escalated call saw the validator's reasons; the intake step stayed on the small model
    assert "not pending" in big.calls[0].messages[-1].content
    assert len(small.calls) == 2 and small.remaining == 0 and big.remaining == 0


def test_cascade_escalates_when_the_small_models_output_fails_validation(routed_graph) -> None:
    small = ScriptedChatModel(responses=[CANCEL_INTAKE, {"actions": [{"kind": "teleport"}]}])
    big = ScriptedChatModel(responses=[CANCEL_PLAN])
    graph = routed_graph({SMALL: small, BIG: big}, CASCADE)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())

    (plan,) = _plan_steps(graph.get_state(cfg()).values)
    assert plan["model"] == BIG
    assert plan["route_reason"].startswith("cascade:") and "kind" in plan["route_reason"]
    assert len(small.calls) == 2  # no re-ask below the top of a cascade: escalated at once


def test_fallback_without_cascade_records_the_error_that_moved_it(routed_graph) -> None:
    small = ScriptedChatModel(responses=[CANCEL_INTAKE, Fault.BAD_REQUEST])
    big = ScriptedChatModel(responses=[CANCEL_PLAN])
    routing = {"retail_support": {"*": {"model": SMALL, "fallbacks": [BIG]}}}
    graph = routed_graph({SMALL: small, BIG: big}, routing)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())

    (plan,) = _plan_steps(graph.get_state(cfg()).values)
    assert (plan["model"], plan["route_reason"]) == (BIG, "fallback:provider_error")


def test_without_cascade_a_rejected_plan_is_replanned_on_the_same_model(routed_graph) -> None:
    small = ScriptedChatModel(responses=[CANCEL_INTAKE, BAD_PLAN, CANCEL_PLAN])
    big = ScriptedChatModel(responses=[])
    routing = {"retail_support": {"*": {"model": SMALL, "fallbacks": [BIG]}}}
    graph = routed_graph({SMALL: small, BIG: big}, routing)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())

    assert [s["model"] for s in _plan_steps(graph.get_state(cfg()).values)] == [SMALL, SMALL]
    assert big.calls == []


def test_a_runs_configurable_routing_overrides_the_table(routed_graph) -> None:
    small = ScriptedChatModel(responses=[CANCEL_INTAKE])
    big = ScriptedChatModel(responses=[CANCEL_PLAN])
    graph = routed_graph({SMALL: small, BIG: big}, {"*": {"*": {"model": SMALL}}})
    override = {"retail_support": {"plan": BIG}}
    graph.invoke({"message": CANCEL_MESSAGE}, cfg(routing=override))

    steps = graph.get_state(cfg()).values["steps"]
    assert [(s["step"], s["model"]) for s in steps if s.get("model")] == [
        ("intake", SMALL),
        ("plan", BIG),
    ]
    assert all(s["route_reason"] == "table" for s in steps if s.get("model"))


def test_a_step_routed_to_code_calls_no_model_and_records_code(routed_graph, export) -> None:
    # the intake is the code's (patterns and words); only the planner is a model
    big = ScriptedChatModel(responses=[CANCEL_PLAN])
    routing = {"retail_support": {"intake": {"model": "code"}, "plan": {"model": BIG}}}
    graph = routed_graph({BIG: big}, routing)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())
    out = graph.invoke(Command(resume="approve"), cfg())

    assert out["status"] == "completed"
    assert export()["orders"]["#W0000001"]["status"] == "cancelled"
    intake = next(s for s in out["steps"] if s["step"] == "intake")
    assert (intake["model"], intake["route_reason"], intake["error_code"]) == (
        "code",
        "table",
        "routed_to_code",
    )
    assert len(big.calls) == 1 and "Requests:" in big.calls[0].messages[-1].content


def test_code_is_a_route_name_and_not_a_model() -> None:
    table = parse_routing({"retail_support": {"intake": "code", "plan": SMALL}})
    assert table.model_names() == {SMALL}
    assert table.label("retail_support") == f"intake=code,plan={SMALL}"
