"""The retail_support state machine, driven by a scripted model on a tiny store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN


def cfg(thread: str = "t1") -> dict:
    return {"configurable": {"thread_id": thread}}


def test_happy_path_pauses_for_approval_then_cancels(make_graph, export) -> None:
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN])
    graph = make_graph(model)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())

    state = graph.get_state(cfg())
    assert state.next == ("approve",)
    payload = state.interrupts[0].value
    assert payload["tool"] == "cancel_pending_order"
    assert payload["arguments"] == {"order_id": "#W0000001", "reason": "ordered by mistake"}
    assert payload["policy"].startswith("§5")
    assert export()["orders"]["#W0000001"]["status"] == "pending"  # nothing before approval

    out = graph.invoke(Command(resume={"decision": "approve", "decided_by": "rev"}), cfg())
    assert out["status"] == "completed"
    db = export()
    assert db["orders"]["#W0000001"]["status"] == "cancelled"
    assert db["orders"]["#W0000001"]["cancel_reason"] == "ordered by mistake"
    # gift card refunded immediately (policy §5.3)
    assert db["users"]["ada_byron_1815"]["payment_methods"]["gift_card_1"]["balance"] == 120.0
    assert "cancel order #W0000001" in out["reply"] and "§5" in out["reply"]
    assert [s["step"] for s in out["steps"]][:3] == ["intake", "authenticate", "gather"]
    assert out["steps"][0]["model"] == "local:qwen2.5-coder-0.5b"  # the configured name
    assert out["steps"][0]["input_tokens"] > 0
    assert model.remaining == 0


def test_policy_violation_goes_back_to_the_planner(make_graph, export) -> None:
    bad_plan = {
        "actions": [{"kind": "cancel_order", "order_id": "#W0000002", "reason": "no longer needed"}]
    }
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, bad_plan, CANCEL_PLAN])
    graph = make_graph(model)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())

    replan_prompt = model.calls[2].messages[-1].content
    assert "#W0000002 is 'delivered', not pending" in replan_prompt
    payload = graph.get_state(cfg()).interrupts[0].value
    assert payload["arguments"]["order_id"] == "#W0000001"
    out = graph.invoke(Command(resume="approve"), cfg())
    assert out["status"] == "completed"
    assert export()["orders"]["#W0000002"]["status"] == "delivered"


def test_violations_past_the_bound_are_dropped_and_explained(make_graph, export) -> None:
    bad_plan = {
        "actions": [{"kind": "cancel_order", "order_id": "#W0000002", "reason": "no longer needed"}]
    }
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, bad_plan, bad_plan])
    graph = make_graph(model, max_plan_rounds=1)
    out = graph.invoke({"message": CANCEL_MESSAGE}, cfg())
    assert not graph.get_state(cfg()).next  # no approval asked for an invalid action
    assert out["status"] == "nothing_to_do"
    assert "not pending" in out["reply"] and "§5.1" in out["reply"]
    assert export()["orders"]["#W0000002"]["status"] == "delivered"


def test_rejected_approval_changes_nothing_and_replies_politely(make_graph, export) -> None:
    before = export()
    graph = make_graph(ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN]))
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())
    out = graph.invoke(Command(resume={"decision": "reject", "comment": "customer unsure"}), cfg())
    assert out["status"] == "rejected"
    assert export() == before
    assert "did not cancel order #W0000001" in out["reply"]
    assert "customer unsure" in out["reply"]


def test_edit_with_invalid_arguments_asks_again(make_graph, export) -> None:
    graph = make_graph(ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN]))
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())
    graph.invoke(Command(resume={"decision": "edit", "arguments": {"reason": "too pricey"}}), cfg())
    payload = graph.get_state(cfg()).interrupts[0].value
    assert "reason must be one of" in payload["error"]
    out = graph.invoke(
        Command(resume={"decision": "edit", "arguments": {"reason": "no longer needed"}}), cfg()
    )
    assert out["status"] == "completed"
    assert export()["orders"]["#W0000001"]["cancel_reason"] == "no longer needed"


def test_restart_between_interrupt_and_approval_resumes_from_checkpoint(
    make_graph, export, tmp_path: Path
) -> None:
    path = tmp_path / "checkpoints.db"
    conn = sqlite3.connect(path, check_same_thread=False)
    graph = make_graph(ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN]), SqliteSaver(conn))
    graph.invoke({"message": CANCEL_MESSAGE}, cfg("restart"))
    conn.close()  # the process "dies" while waiting for the reviewer

    conn = sqlite3.connect(path, check_same_thread=False)
    fresh_model = ScriptedChatModel(responses=[])  # a resumed run must not call the model again
    graph = make_graph(fresh_model, SqliteSaver(conn))
    assert graph.get_state(cfg("restart")).next == ("approve",)
    out = graph.invoke(Command(resume="yes"), cfg("restart"))
    conn.close()
    assert out["status"] == "completed"
    assert export()["orders"]["#W0000001"]["status"] == "cancelled"
    assert fresh_model.calls == []


def test_replaying_the_execute_step_does_not_repeat_the_write(make_graph, export) -> None:
    graph = make_graph(ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN]))
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())
    graph.invoke(Command(resume="approve"), cfg())
    after_first = export()

    # Fork from the checkpoint just before `execute` ran and run it again (a crashed worker's
    # retry looks the same to the graph).
    before_execute = next(s for s in graph.get_state_history(cfg()) if s.next == ("execute",))
    out = graph.invoke(None, before_execute.config)
    assert export() == after_first  # gift card credited once, one refund transaction
    assert out["executed"][-1]["replayed"] is True
    assert out["status"] == "completed"


def test_unknown_customer_gets_asked_for_identity(make_graph, export) -> None:
    intake = {
        "identity": {"first_name": "Nobody", "last_name": "Here", "zip": "00000"},
        "requests": [{"kind": "cancel_order"}],
    }
    graph = make_graph(ScriptedChatModel(responses=[intake]))
    out = graph.invoke({"message": "I'm Nobody Here, zip 00000, cancel my order"}, cfg())
    assert out["status"] == "needs_identity"
    assert "§2.1" in out["reply"]


def test_each_email_the_customer_gives_is_tried(make_graph) -> None:
    intake = {"identity": {"email": "ada.old@example.com"}, "requests": [{"kind": "cancel_order"}]}
    graph = make_graph(ScriptedChatModel(responses=[intake, CANCEL_PLAN]))
    message = "My emails are ada.old@example.com and ada@example.com: cancel #W0000001"
    graph.invoke({"message": message}, cfg())
    # the first is nobody's; the second is Ada's
    assert graph.get_state(cfg()).values["user_id"] == "ada_byron_1815"


def test_invented_identity_is_reasked_with_the_reason(make_graph) -> None:
    invented = {
        "identity": {"first_name": "Grace", "last_name": "Hopper", "zip": "62701"},
        "requests": [{"kind": "cancel_order", "order_id": "#W0000001"}],
    }
    model = ScriptedChatModel(responses=[invented, CANCEL_INTAKE, CANCEL_PLAN])
    graph = make_graph(model)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg())
    assert "does not occur in the message" in model.calls[1].messages[-1].content
    assert graph.get_state(cfg()).values["user_id"] == "ada_byron_1815"


def test_exchange_payload_shows_price_difference(make_graph, export) -> None:
    intake = {
        "identity": {"email": "ada@example.com"},
        "requests": [
            {
                "kind": "exchange_items",
                "order_id": "#W0000002",
                "items": ["desk lamp"],
                "wanted": "black, low brightness",
            }
        ],
    }
    plan = {
        "actions": [
            {
                "kind": "exchange_items",
                "order_id": "#W0000002",
                "item_ids": ["111"],
                "new_item_ids": ["112"],
                "payment_method_id": "credit_card_1",
            }
        ]
    }
    graph = make_graph(ScriptedChatModel(responses=[intake, plan]))
    graph.invoke({"message": "ada@example.com here: swap the lamp in #W0000002 for black"}, cfg())
    payload = graph.get_state(cfg()).interrupts[0].value
    assert payload["details"]["price_difference"] == -10.0
    assert "refunded $10.00" in payload["summary"]
    graph.invoke(Command(resume="approve"), cfg())
    order = export()["orders"]["#W0000002"]
    assert order["status"] == "exchange requested"
    assert order["exchange_new_items"] == ["112"]


def test_code_only_planner_resolves_the_draft_without_a_model(make_graph, export) -> None:
    intake = {
        "identity": {"email": "ada@example.com"},
        "requests": [{"kind": "exchange_items", "items": ["lamp"], "wanted": "black"}],
    }
    model = ScriptedChatModel(responses=[intake])  # only intake: the planner uses the draft
    graph = make_graph(model, planner="draft")
    graph.invoke({"message": "ada@example.com: exchange my delivered lamp for a black one"}, cfg())
    payload = graph.get_state(cfg()).interrupts[0].value
    assert payload["arguments"] == {
        "order_id": "#W0000002",
        "item_ids": ["111"],
        "new_item_ids": ["112"],
        "payment_method_id": "credit_card_1",
    }


def test_user_id_with_zip_authenticates_through_name_and_zip(make_graph) -> None:
    intake = {
        "identity": {"user_id": "ada_byron_1815", "zip": "62701"},
        "requests": [{"kind": "cancel_order", "order_id": "#W0000001"}],
    }
    graph = make_graph(ScriptedChatModel(responses=[intake, CANCEL_PLAN]))
    graph.invoke({"message": "I'm ada_byron_1815 in 62701: cancel #W0000001 by mistake"}, cfg())
    assert graph.get_state(cfg()).values["user_id"] == "ada_byron_1815"

    wrong_zip = {
        "identity": {"user_id": "ada_byron_1815", "zip": "99999"},
        "requests": [{"kind": "cancel_order"}],
    }
    graph = make_graph(ScriptedChatModel(responses=[wrong_zip]))
    out = graph.invoke({"message": "I'm ada_byron_1815 in 99999, cancel"}, cfg("t2"))
    assert out["status"] == "needs_identity"


def test_auto_planner_asks_the_model_only_when_the_draft_is_unsure(make_graph) -> None:
    # the code draft resolves the cancel: no planner call at all
    model = ScriptedChatModel(responses=[CANCEL_INTAKE])
    graph = make_graph(model, planner="auto")
    graph.invoke({"message": CANCEL_MESSAGE}, cfg("auto-1"))
    assert graph.get_state(cfg("auto-1")).interrupts[0].value["arguments"]["order_id"] == (
        "#W0000001"
    )
    assert len(model.calls) == 1 and model.remaining == 0

    # an exchange to something the catalogue does not have: the draft notes it, the model plans
    unsure = {
        "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
        "requests": [{"kind": "exchange_items", "order_id": "#W0000002", "items": ["lamp"]}],
    }
    model = ScriptedChatModel(responses=[unsure, {"actions": []}])
    graph = make_graph(model, planner="auto")
    message = "I'm Ada Byron, zip 62701. Exchange the lamp of #W0000002 for a purple one."
    graph.invoke({"message": message}, cfg("auto-2"))
    assert len(model.calls) == 2 and model.remaining == 0
