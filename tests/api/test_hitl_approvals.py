"""One approval, three ways to answer it: the approvals API, a LangChain v1 HITL resume
(``{"decisions": [...]}``, what Agent Chat UI sends) and an agent-inbox response list (what the
npm-scaffolded Agent Chat UI sends). They resolve the same approval row, and when they race
exactly one decision wins; the loser gets 409 and nothing runs twice. Through the official
Python SDK against the retail workflow, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
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
from tests.graphs.conftest import TINY_DB

ROUNDS = 6
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _order(i: int) -> str:
    return f"#W10000{i:02d}"


def _store() -> dict[str, Any]:
    db = copy.deepcopy(TINY_DB)
    for i in range(ROUNDS + 2):
        order = copy.deepcopy(db["orders"]["#W0000001"])
        order["order_id"] = _order(i)
        db["orders"][_order(i)] = order
        db["users"]["ada_byron_1815"]["orders"].append(_order(i))
    return db


def _script(i: int) -> list[dict[str, Any]]:
    intake = {
        "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
        "requests": [{"kind": "cancel_order", "order_id": _order(i), "reason": "by mistake"}],
    }
    plan = {
        "actions": [{"kind": "cancel_order", "order_id": _order(i), "reason": "ordered by mistake"}]
    }
    return [intake, plan]


def _message(i: int) -> str:
    return f"I'm Ada Byron, zip 62701. Please cancel order {_order(i)}, I ordered it by mistake."


@pytest.fixture
async def retail(database_url: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Any]]:
    engine = make_engine(make_settings(database_url).database)
    migrate(engine)
    factory = make_session_factory(engine)
    load_tau2_db(factory, _store())
    model = ScriptedChatModel(responses=[x for i in range(ROUNDS + 2) for x in _script(i)])

    def build(deps: GraphDeps) -> Any:
        return build_retail(replace(deps, model_factory=lambda _name: model))

    registry = GraphRegistry()
    registry.register(replace(retail_support_spec(), build=build))
    with serve(create_app(make_settings(database_url), registry)) as base:
        sdk = get_client(url=base, api_key=None)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield sdk, http, factory
        await sdk.http.client.aclose()
    engine.dispose()


async def _paused(sdk: Any, http: httpx.AsyncClient, i: int) -> tuple[str, dict[str, Any]]:
    tid = (await sdk.threads.create())["thread_id"]
    paused = await sdk.runs.wait(tid, "retail_support", input={"message": _message(i)})
    assert "__interrupt__" in paused, paused.get("reply")
    (approval,) = (await http.get("/approvals", params={"thread_id": tid})).json()
    assert approval["status"] == "pending"
    return tid, approval


def _conflict(error: object) -> bool:
    """The SDK's error for a 409 (``runs.wait`` raises httpx's own)."""
    return isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 409


def _orders(factory: Any) -> dict[str, Any]:
    with factory() as session:
        return dict(export_tau2_db(session)["orders"])


async def test_approvals_api_and_hitl_resume_race_one_wins(retail: Any) -> None:
    sdk, http, factory = retail
    for i in range(ROUNDS):
        tid, approval = await _paused(sdk, http, i)
        head = (await sdk.threads.get_history(tid, limit=1))[0]["checkpoint"]

        async def via_api(approval_id: str = approval["id"]) -> Any:
            return await http.post(
                f"/approvals/{approval_id}/decision",
                json={"decision": "approve", "comment": "from the inbox"},
            )

        async def via_hitl(thread_id: str = tid, checkpoint: Any = head) -> Any:
            return await sdk.runs.wait(
                thread_id,
                "retail_support",
                input={},  # what useStream sends beside a command
                command={"resume": {"decisions": [{"type": "reject", "message": "not this"}]}},
                checkpoint={k: v for k, v in checkpoint.items() if k != "thread_id"},
            )

        # alternate who is sent first; both are in flight together
        calls = (via_api(), via_hitl()) if i % 2 == 0 else (via_hitl(), via_api())
        first, second = await asyncio.gather(*calls, return_exceptions=True)
        api_result, hitl_result = (first, second) if i % 2 == 0 else (second, first)
        api_won = api_result.status_code == 200
        hitl_won = not isinstance(hitl_result, BaseException)
        assert api_won != hitl_won, (api_result, hitl_result)
        if api_won:
            assert _conflict(hitl_result), hitl_result
            resume_run = api_result.json()["run"]["run_id"]
            final = await sdk.runs.join(tid, resume_run)
        else:
            assert api_result.status_code == 409, api_result.text
            assert api_result.json()["error"]["code"] == "conflict"
            final = hitl_result

        decided = (await http.get(f"/approvals/{approval['id']}")).json()
        assert decided["status"] == ("approved" if api_won else "rejected")
        decisions = [e for e in decided["events"] if e["event"] in ("approved", "rejected")]
        assert len(decisions) == 1, decided["events"]
        runs = await sdk.runs.list(tid)
        assert len(runs) == 2  # the paused run and one resume
        assert (await sdk.threads.get(tid))["status"] == "idle"
        assert _orders(factory)[_order(i)]["status"] == ("cancelled" if api_won else "pending")
        assert [m["type"] for m in final["messages"]] == ["human", "ai"]


@SQLITE_ONLY
async def test_stale_resume_after_the_thread_moved_on_is_refused(retail: Any) -> None:
    sdk, http, factory = retail
    tid, approval = await _paused(sdk, http, 0)
    head = (await sdk.threads.get_history(tid, limit=1))[0]["checkpoint"]
    decided = await http.post(f"/approvals/{approval['id']}/decision", json={"decision": "approve"})
    assert decided.status_code == 200
    await sdk.runs.join(tid, decided.json()["run"]["run_id"])

    # a second turn pauses at a new approval; the UI still shows the first one
    await sdk.runs.wait(tid, "retail_support", input={"message": _message(1)})
    (second,) = (
        await http.get("/approvals", params={"thread_id": tid, "status": "pending"})
    ).json()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await sdk.runs.wait(
            tid,
            "retail_support",
            command={"resume": {"decisions": [{"type": "approve"}]}},
            checkpoint={k: v for k, v in head.items() if k != "thread_id"},
        )
    assert _conflict(refused.value)
    assert (await http.get(f"/approvals/{second['id']}")).json()["status"] == "pending"
    assert _orders(factory)[_order(1)]["status"] == "pending"


@SQLITE_ONLY
async def test_agent_inbox_responses_decide_the_approval(retail: Any) -> None:
    """``[{"type": "edit", "args": {"action", "args"}}]`` edits, ``ignore`` rejects."""
    sdk, http, factory = retail
    tid, approval = await _paused(sdk, http, 0)
    request = approval["payload"]["action_request"]
    assert approval["payload"]["config"] == {
        "allow_accept": True,
        "allow_edit": True,
        "allow_ignore": True,
        "allow_respond": True,
    }
    edited = {
        "action": request["action"],
        "args": {**request["args"], "reason": "no longer needed"},
    }
    final = await sdk.runs.wait(
        tid, "retail_support", input={}, command={"resume": [{"type": "edit", "args": edited}]}
    )
    decided = (await http.get(f"/approvals/{approval['id']}")).json()
    assert decided["status"] == "edited"
    assert decided["decided_by"] == "anonymous"
    # recorded as the approvals API records a decision, with the resume as it was sent
    assert decided["decision"]["decision"] == "edit"
    assert decided["decision"]["arguments"]["reason"] == "no longer needed"
    assert decided["decision"]["resume"] == [{"type": "edit", "args": edited}]
    assert final["executed"][0]["arguments"]["reason"] == "no longer needed"
    assert _orders(factory)[_order(0)]["status"] == "cancelled"

    tid, approval = await _paused(sdk, http, 1)
    final = await sdk.runs.wait(
        tid, "retail_support", command={"resume": [{"type": "ignore", "args": None}]}
    )
    ignored = (await http.get(f"/approvals/{approval['id']}")).json()
    assert ignored["status"] == "rejected"
    assert ignored["decision"]["decision"] == "reject"
    assert final["executed"] == []
    assert _orders(factory)[_order(1)]["status"] == "pending"


@SQLITE_ONLY
async def test_a_resume_on_a_thread_that_never_paused_is_refused(retail: Any) -> None:
    sdk, _http, _factory = retail
    tid = (await sdk.threads.create())["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await sdk.runs.wait(tid, "retail_support", command={"resume": {"decision": "approve"}})
    assert _conflict(refused.value)
    assert (await sdk.threads.get(tid))["status"] == "idle"
