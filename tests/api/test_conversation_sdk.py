"""Two requests on one thread through the official SDK, each approved: both change the store,
each exactly once, and replaying turn 2 from its last checkpoint (what a crashed worker does)
repeats nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from langgraph_sdk import get_client
from waypost.api.app import create_app
from waypost.domains.retail.tools import export_tau2_db, load_tau2_db
from waypost.domains.retail.workflow import build as build_retail
from waypost.domains.retail.workflow import retail_support_spec
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphDeps, GraphRegistry
from waypost.runtime.db import make_engine, make_session_factory

from tests.api.conftest import make_settings
from tests.api.server import serve
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN, TINY_DB

MODIFY_MESSAGE = "And in order #W0000003, please change the desk lamp to the black one."
MODIFY_INTAKE = {
    "identity": {},
    "requests": [
        {"kind": "modify_items", "order_id": "#W0000003", "items": ["desk lamp"], "wanted": "black"}
    ],
}
MODIFY_PLAN = {
    "actions": [
        {
            "kind": "modify_items",
            "order_id": "#W0000003",
            "item_ids": ["111"],
            "new_item_ids": ["112"],
            "payment_method_id": "gift_card_1",
        }
    ]
}


def _store() -> dict[str, Any]:
    db = copy.deepcopy(TINY_DB)
    third = copy.deepcopy(db["orders"]["#W0000001"])
    third["order_id"] = "#W0000003"
    db["orders"]["#W0000003"] = third
    db["users"]["ada_byron_1815"]["orders"].append("#W0000003")
    return db


@pytest.fixture
async def conversation(database_url: str) -> AsyncIterator[tuple[Any, Any]]:
    engine = make_engine(make_settings(database_url).database)
    migrate(engine)
    factory = make_session_factory(engine)
    load_tau2_db(factory, _store())
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN, MODIFY_INTAKE, MODIFY_PLAN])

    def build(deps: GraphDeps) -> Any:
        return build_retail(replace(deps, model_factory=lambda _name: model))

    registry = GraphRegistry()
    registry.register(replace(retail_support_spec(), build=build))
    with serve(create_app(make_settings(database_url), registry)) as base:
        client = get_client(url=base, api_key=None)
        yield client, factory
        await client.http.client.aclose()
    engine.dispose()


async def _approve(client: Any, thread_id: str) -> dict[str, Any]:
    state = await client.threads.get_state(thread_id)
    (interrupt,) = state["interrupts"]
    assert interrupt["value"]["action_requests"][0]["name"] == interrupt["value"]["tool"]
    return await client.runs.wait(
        thread_id, "retail_support", command={"resume": {"decision": "approve"}}
    )


async def test_two_requests_on_one_thread_each_act_once(conversation) -> None:
    client, factory = conversation
    thread = await client.threads.create()
    tid = thread["thread_id"]

    await client.runs.wait(tid, "retail_support", input={"message": CANCEL_MESSAGE})
    first = await _approve(client, tid)
    assert first["status"] == "completed"

    await client.runs.wait(tid, "retail_support", input={"message": MODIFY_MESSAGE})
    second = await _approve(client, tid)
    assert second["status"] == "completed", second["reply"]
    assert [e["tool"] for e in second["executed"]] == ["modify_pending_order_items"]
    assert "cancel" not in second["reply"].lower()

    def snapshot() -> dict[str, Any]:
        with factory() as session:
            return export_tau2_db(session)

    db = snapshot()
    assert db["orders"]["#W0000001"]["status"] == "cancelled"
    assert [i["item_id"] for i in db["orders"]["#W0000003"]["items"]] == ["112"]
    # gift card: +100 refunded by the cancel, +10 price difference back from the change
    assert db["users"]["ada_byron_1815"]["payment_methods"]["gift_card_1"]["balance"] == 130.0

    # a crash replay of turn 2: run again from the checkpoint written just before `execute`
    history = await client.threads.get_history(tid, limit=100)
    before_execute = next(h for h in history if h["next"] == ["execute"])  # newest first
    replay = await client.runs.wait(
        tid,
        "retail_support",
        input=None,
        checkpoint_id=before_execute["checkpoint"]["checkpoint_id"],
    )
    assert replay["executed"][-1]["replayed"] is True
    assert snapshot() == db

    thread_state = await client.threads.get_state(tid)
    roles = [m["type"] for m in thread_state["values"]["messages"]]
    assert roles == ["human", "ai", "human", "ai"]
