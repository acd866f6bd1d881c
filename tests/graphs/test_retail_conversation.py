"""A thread is a conversation: each run is a turn that acts afresh, and what earlier turns
established carries over. The bug this guards: a second request on a thread was approved and
confirmed to the customer but never executed (its write was keyed like turn 1's)."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.types import Command

from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN

RETURN_MESSAGE = "Also, please return the desk lamp from order #W0000002 to my gift card."
RETURN_INTAKE = {
    "identity": {},
    "requests": [
        {
            "kind": "return_items",
            "order_id": "#W0000002",
            "items": ["desk lamp"],
            "payment": "gift card",
        }
    ],
}
RETURN_PLAN = {
    "actions": [
        {
            "kind": "return_items",
            "order_id": "#W0000002",
            "item_ids": ["111"],
            "payment_method_id": "gift_card_1",
        }
    ]
}


def cfg(run_id: str, thread: str = "conv") -> dict:
    return {"configurable": {"thread_id": thread, "run_id": run_id}}


def test_a_second_request_on_a_thread_is_executed(make_graph, export) -> None:
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN, RETURN_INTAKE, RETURN_PLAN])
    graph = make_graph(model)

    graph.invoke({"message": CANCEL_MESSAGE}, cfg("run-1"))
    turn1 = graph.invoke(Command(resume={"decision": "approve"}), cfg("run-1b"))
    assert turn1["status"] == "completed"
    assert export()["orders"]["#W0000001"]["status"] == "cancelled"

    graph.invoke({"message": RETURN_MESSAGE}, cfg("run-2"))
    request = graph.get_state(cfg("x")).interrupts[0].value
    assert request["tool"] == "return_delivered_order_items"
    assert request["call_id"] == "action-0"  # the same index as turn 1's action: a new key
    turn2 = graph.invoke(Command(resume={"decision": "approve"}), cfg("run-2b"))

    assert turn2["status"] == "completed"
    db = export()
    assert db["orders"]["#W0000002"]["status"] == "return requested"
    # this turn's records only: nothing replayed, turn 1's refund not repeated in the reply
    assert [e["tool"] for e in turn2["executed"]] == ["return_delivered_order_items"]
    assert turn2["executed"][0]["replayed"] is False
    assert "cancel" not in turn2["reply"].lower()
    assert len(turn2["decisions"]) == 1
    # the customer is known from turn 1: turn 2 did not authenticate again from its text
    assert turn2["user_id"] == "ada_byron_1815"
    # the conversation, as a chat UI shows it
    kinds = [type(m) for m in turn2["messages"]]
    assert kinds == [HumanMessage, AIMessage, HumanMessage, AIMessage]
    assert turn2["messages"][-1].content == turn2["reply"]


def test_replaying_a_turn_from_its_checkpoint_repeats_no_write(make_graph, export) -> None:
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN])
    graph = make_graph(model)
    graph.invoke({"message": CANCEL_MESSAGE}, cfg("run-1"))
    graph.invoke(Command(resume="approve"), cfg("run-1b"))
    after = export()
    # the checkpoint written just before `execute` ran: what a crashed worker resumes from
    before_execute = next(s for s in graph.get_state_history(cfg("x")) if s.next == ("execute",))
    replay = graph.invoke(None, before_execute.config)
    assert replay["executed"][-1]["replayed"] is True
    assert replay["executed"][-1]["ok"] is True
    assert export() == after  # the gift card was refunded once


def test_after_asking_who_the_customer_is_the_request_continues(make_graph, export) -> None:
    anonymous = "Please cancel order #W0000001, I ordered it by mistake."
    model = ScriptedChatModel(
        responses=[
            {"identity": {}, "requests": CANCEL_INTAKE["requests"]},
            {
                "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
                "requests": [],
            },
            CANCEL_PLAN,
        ]
    )
    graph = make_graph(model)
    first = graph.invoke({"message": anonymous}, cfg("run-1"))
    assert first["status"] == "needs_identity"
    assert "first name, last name and zip code" in first["reply"]
    assert export()["orders"]["#W0000001"]["status"] == "pending"

    graph.invoke({"message": "Sure: Ada Byron, zip code 62701."}, cfg("run-2"))
    request = graph.get_state(cfg("x")).interrupts[0].value
    assert request["arguments"] == {"order_id": "#W0000001", "reason": "ordered by mistake"}
    done = graph.invoke(Command(resume="approve"), cfg("run-2b"))
    assert done["status"] == "completed"
    assert export()["orders"]["#W0000001"]["status"] == "cancelled"


def test_a_chat_ui_message_list_is_accepted_as_input(make_graph) -> None:
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN])
    graph = make_graph(model)
    graph.invoke({"messages": [{"role": "user", "content": CANCEL_MESSAGE}]}, cfg("run-1"))
    assert model.calls[0].messages[-1].content == CANCEL_MESSAGE  # intake read it
    request = graph.get_state(cfg("x")).interrupts[0].value
    assert request["action_requests"][0]["name"] == "cancel_pending_order"
    done = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), cfg("run-1b"))
    assert done["status"] == "completed"
