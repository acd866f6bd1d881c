"""The approvals inbox: listing, deciding, and exactly-one-wins under concurrent decisions."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

# Behaviour that does not depend on the database: SQLite keeps the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _paused_thread(sdk: LangGraphClient, order_id: str) -> str:
    tid = (await sdk.threads.create())["thread_id"]
    await sdk.runs.wait(tid, "approval", input={"order_id": order_id})
    return tid


async def test_concurrent_decisions_exactly_one_wins(
    sdk: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = await _paused_thread(sdk, "O7")
    (approval,) = (await http.get("/approvals", params={"thread_id": tid})).json()
    assert approval["status"] == "pending"
    assert approval["payload"]["tool"] == "cancel_order"

    async def decide(i: int) -> httpx.Response:
        return await http.post(
            f"/approvals/{approval['id']}/decision",
            json={
                "decision": "reject" if i % 2 else "approve",
                "comment": f"reviewer {i}",
                "decided_by": f"user-{i}",
            },
        )

    responses = await asyncio.gather(*(decide(i) for i in range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 19, codes
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["error"]["code"] == "conflict"
    winner = next(r for r in responses if r.status_code == 200).json()

    final = await sdk.runs.join(tid, winner["run"]["run_id"])
    assert isinstance(final, dict)
    decided = (await http.get(f"/approvals/{approval['id']}")).json()
    assert decided["decided_by"] == winner["approval"]["decided_by"]
    assert decided["decided_at"] is not None
    expected = "rejected: " if decided["status"] == "rejected" else "cancelled O7"
    assert final["outcome"].startswith(expected)
    assert (await sdk.threads.get(tid))["status"] == "idle"
    assert (await http.get("/approvals", params={"status": "pending"})).json() == []


@SQLITE_ONLY
async def test_typed_workflow_endpoint_and_run_summary(http: httpx.AsyncClient) -> None:
    done = await http.post("/workflows/three_step/runs", json={"topic": "typed"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "success"
    assert body["output"] == {"topic": "typed", "steps": ["first", "second", "third"]}
    summary = (await http.get(f"/runs/{body['run_id']}")).json()
    assert summary["status"] == "success" and summary["workflow"] == "three_step"
    assert summary["duration_s"] >= 0 and summary["input_tokens"] == 0

    paused = (await http.post("/workflows/approval/runs", json={"order_id": "O3"})).json()
    assert paused["status"] == "interrupted"
    assert paused["approval"]["payload"]["args"]["order_id"] == "O3"

    bad = await http.post("/workflows/three_step/runs", json={"topic": 3})
    assert bad.status_code == 422
    schema = (await http.get("/openapi.json")).json()
    assert "/workflows/three_step/runs" in schema["paths"]


async def test_new_input_supersedes_a_pending_approval(
    sdk: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = await _paused_thread(sdk, "O5")
    (approval,) = (await http.get("/approvals", params={"thread_id": tid})).json()
    await sdk.runs.wait(tid, "approval", input={"order_id": "O6"})
    old = (await http.get(f"/approvals/{approval['id']}")).json()
    assert old["status"] == "superseded"
    late = await http.post(f"/approvals/{approval['id']}/decision", json={"decision": "approve"})
    assert late.status_code == 409
    (fresh,) = (await http.get("/approvals", params={"thread_id": tid, "status": "pending"})).json()
    assert fresh["payload"]["args"]["order_id"] == "O6"
