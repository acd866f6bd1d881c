"""The official ``langgraph_sdk`` client drives a real Waypost server, unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import RunCreateMetadata


async def test_interrupt_resume_round_trip(sdk: LangGraphClient, http: httpx.AsyncClient) -> None:
    assistants = await sdk.assistants.search()
    assert {a["graph_id"] for a in assistants} == {
        "approval",
        "chat",
        "memory",
        "routed",
        "slow",
        "three_step",
    }
    by_uuid = await sdk.assistants.get(assistants[0]["assistant_id"])
    assert by_uuid["graph_id"] == assistants[0]["graph_id"]
    graph = await sdk.assistants.get_graph("approval")
    assert {n["id"] for n in graph["nodes"]} >= {"plan", "act"}
    schemas = await sdk.assistants.get_schemas("three_step")
    assert schemas["input_schema"]["properties"]["topic"]["type"] == "string"

    thread = await sdk.threads.create(metadata={"case": "refund"})
    tid = thread["thread_id"]
    created: list[RunCreateMetadata] = []
    paused = await sdk.runs.wait(
        tid, "approval", input={"order_id": "O1"}, on_run_created=created.append
    )
    assert isinstance(paused, dict)
    (intr,) = paused["__interrupt__"]
    assert intr["value"]["tool"] == "cancel_order"
    assert created and created[0]["thread_id"] == tid

    first_run = await sdk.runs.get(tid, created[0]["run_id"])
    assert first_run["status"] == "success"  # as the LangGraph server reports a paused run
    state = await sdk.threads.get_state(tid)
    assert state["next"] == ["act"]
    assert state["interrupts"][0]["value"]["args"] == {
        "order_id": "O1",
        "reason": "no longer needed",
    }
    assert (await sdk.threads.get(tid))["status"] == "interrupted"
    pending = (
        await http.get("/approvals", params={"status": "pending", "workflow": "approval"})
    ).json()
    assert [a["thread_id"] for a in pending] == [tid]

    resumed = await sdk.runs.wait(
        tid, "approval", command={"resume": {"decision": "edit", "arguments": {"order_id": "O9"}}}
    )
    assert isinstance(resumed, dict)
    assert resumed["outcome"] == "cancelled O9"
    assert "__interrupt__" not in resumed
    thread = await sdk.threads.get(tid)
    assert thread["status"] == "idle"
    assert thread["values"]["outcome"] == "cancelled O9"
    decided = (await http.get(f"/approvals/{pending[0]['id']}")).json()
    assert decided["status"] == "edited"

    history = await sdk.threads.get_history(tid)
    assert len(history) >= 4
    assert history[0]["values"]["outcome"] == "cancelled O9"
    runs = await sdk.runs.list(tid)
    assert [r["status"] for r in runs] == ["success", "success"]


async def test_stream_modes_join_and_replay(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    tid = thread["thread_id"]
    created: list[RunCreateMetadata] = []
    parts = [
        p
        async for p in sdk.runs.stream(
            tid,
            "three_step",
            input={"topic": "t"},
            on_run_created=created.append,
            stream_mode=["values", "updates", "custom", "messages-tuple", "debug", "events"],
        )
    ]
    events = [p.event for p in parts]
    assert events[0] == "metadata" and events[-1] == "end"
    assert {"values", "updates", "custom", "debug", "events"} <= set(events)
    updates = [p.data for p in parts if p.event == "updates"]
    assert updates == [
        {"first": {"steps": ["first"]}},
        {"second": {"steps": ["second"]}},
        {"third": {"steps": ["third"]}},
    ]
    assert [p.data for p in parts if p.event == "custom"] == [
        {"node": "first"},
        {"node": "second"},
        {"node": "third"},
    ]
    run_id = created[0]["run_id"]

    joined = await sdk.runs.join(tid, run_id)
    assert joined == {"topic": "t", "steps": ["first", "second", "third"]}
    replay = [p async for p in sdk.runs.join_stream(tid, run_id, last_event_id="3")]
    ids = [int(p.id) for p in replay if p.event != "end"]
    assert ids and ids[0] == 4 and ids == sorted(ids)
    values_only = [p async for p in sdk.runs.join_stream(tid, run_id, stream_mode="values")]
    assert {p.event for p in values_only} == {"metadata", "values", "end"}

    stateless = await sdk.runs.wait(None, "three_step", input={"topic": "s"})
    assert stateless == {"topic": "s", "steps": ["first", "second", "third"]}


async def test_cancel_and_multitask_reject(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    tid = thread["thread_id"]
    run = await sdk.runs.create(tid, "slow", input={"seconds": 30})
    async for part in sdk.runs.join_stream(tid, run["run_id"]):
        if part.event == "metadata":  # the worker picked it up
            break
    with pytest.raises(httpx.HTTPStatusError) as busy:
        await sdk.runs.create(tid, "slow", input={"seconds": 1})
    assert busy.value.response.status_code == 409

    await sdk.runs.cancel(tid, run["run_id"], wait=True)
    assert (await sdk.runs.get(tid, run["run_id"]))["status"] == "interrupted"
    assert (await sdk.threads.get(tid))["status"] == "idle"

    quick = await sdk.runs.wait(tid, "slow", input={"seconds": 0})
    assert isinstance(quick, dict) and quick["done"] is True
    await sdk.threads.delete(tid)
    with pytest.raises(httpx.HTTPStatusError) as gone:
        await sdk.threads.get(tid)
    assert gone.value.response.status_code == 404


async def test_enqueue_runs_in_order(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    first = await sdk.runs.create(tid, "slow", input={"seconds": 0.3})
    second = await sdk.runs.create(
        tid, "three_step", input={"topic": "q"}, multitask_strategy="enqueue"
    )
    result: Any = await sdk.runs.join(tid, second["run_id"])
    assert result["steps"] == ["first", "second", "third"]
    assert (await sdk.runs.get(tid, first["run_id"]))["status"] == "success"
    await asyncio.sleep(0)


async def test_messages_stream_and_usage(sdk: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    created: list[RunCreateMetadata] = []
    parts = [
        p
        async for p in sdk.runs.stream(
            tid,
            "chat",
            input={"messages": [{"role": "user", "content": "hi"}]},
            stream_mode="messages-tuple",
            on_run_created=created.append,
        )
    ]
    (message,) = [p.data for p in parts if p.event == "messages"]
    chunk, meta = message
    assert chunk["content"] == "hello from the model"
    assert meta["langgraph_node"] == "chat"
    summary = (await http.get(f"/runs/{created[0]['run_id']}")).json()
    assert summary["input_tokens"] == 1000 and summary["output_tokens"] == 500
    assert summary["usd"] > 0  # priced from the shared price table (gpt-4o-mini)
