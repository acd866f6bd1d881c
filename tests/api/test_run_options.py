"""Run options through the SDK: multitask strategies, on_disconnect, webhooks, if_not_exists."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from langgraph_sdk.client import LangGraphClient

from tests.api.server import serve

# Behaviour that does not depend on the database: SQLite keeps the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _started(sdk: LangGraphClient, tid: str, run_id: str) -> None:
    async with contextlib.aclosing(sdk.runs.join_stream(tid, run_id)) as parts:
        async for part in parts:
            if part.event == "metadata":
                return


async def test_multitask_interrupt_and_rollback(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    first = await sdk.runs.create(tid, "slow", input={"seconds": 30})
    await _started(sdk, tid, first["run_id"])
    second = await sdk.runs.create(
        tid, "slow", input={"seconds": 30}, multitask_strategy="interrupt"
    )
    await sdk.runs.join(tid, first["run_id"])
    assert (await sdk.runs.get(tid, first["run_id"]))["status"] == "interrupted"
    await _started(sdk, tid, second["run_id"])

    third = await sdk.runs.create(tid, "slow", input={"seconds": 0}, multitask_strategy="rollback")
    result: Any = await sdk.runs.join(tid, third["run_id"])
    assert result["done"] is True
    with pytest.raises(httpx.HTTPStatusError) as gone:
        await sdk.runs.get(tid, second["run_id"])
    assert gone.value.response.status_code == 404
    # the thread's state no longer descends from the rolled-back run's checkpoints
    lineage = []
    state: Any = await sdk.threads.get_state(tid)
    while state is not None:
        lineage.append(state["metadata"].get("run_id"))
        parent = (state.get("parent_checkpoint") or {}).get("checkpoint_id")
        state = await sdk.threads.get_state(tid, checkpoint_id=parent) if parent else None
    assert third["run_id"] in lineage and first["run_id"] in lineage
    assert second["run_id"] not in lineage


@SQLITE_ONLY
async def test_disconnect_cancels_when_asked(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    run_ids: list[str] = []
    stream = sdk.runs.stream(
        tid,
        "slow",
        input={"seconds": 30},
        on_disconnect="cancel",
        on_run_created=lambda meta: run_ids.append(meta["run_id"]),
    )
    async with contextlib.aclosing(stream) as parts:
        async for part in parts:
            if part.event == "metadata":
                break
    await sdk.runs.join(tid, run_ids[0])
    assert (await sdk.runs.get(tid, run_ids[0]))["status"] == "interrupted"


@SQLITE_ONLY
async def test_if_not_exists_create(sdk: LangGraphClient) -> None:
    tid = str(uuid.uuid4())
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await sdk.runs.wait(tid, "three_step", input={"topic": "x"})
    assert missing.value.response.status_code == 404
    out = await sdk.runs.wait(tid, "three_step", input={"topic": "x"}, if_not_exists="create")
    assert isinstance(out, dict) and out["steps"] == ["first", "second", "third"]


@SQLITE_ONLY
async def test_batch_starts_every_run_or_none(sdk: LangGraphClient) -> None:
    payloads: Any = [{"assistant_id": "three_step", "input": {"topic": f"t{i}"}} for i in range(3)]
    runs = await sdk.runs.create_batch(payloads)
    assert len({r["run_id"] for r in runs}) == 3
    for run in runs:
        out: Any = await sdk.runs.join(run["thread_id"], run["run_id"])
        assert out["steps"] == ["first", "second", "third"]
    before = len(await sdk.threads.search(limit=100))
    with pytest.raises(httpx.HTTPStatusError) as unknown:
        await sdk.runs.create_batch([*payloads, {"assistant_id": "nope"}])
    assert unknown.value.response.status_code == 404
    assert len(await sdk.threads.search(limit=100)) == before  # nothing was started
    with pytest.raises(httpx.HTTPStatusError) as too_many:
        await sdk.runs.create_batch(payloads * 34)
    assert too_many.value.response.status_code == 422


@SQLITE_ONLY
async def test_webhook_receives_the_finished_run(sdk: LangGraphClient) -> None:
    received: list[dict[str, Any]] = []
    arrived = threading.Event()
    hook = FastAPI()

    @hook.post("/hook")
    async def on_hook(request: Request) -> dict[str, bool]:
        received.append(await request.json())
        arrived.set()
        return {"ok": True}

    with serve(hook) as hook_url:
        out = await sdk.runs.wait(
            None, "three_step", input={"topic": "w"}, webhook=f"{hook_url}/hook"
        )
        assert isinstance(out, dict)
        assert await asyncio.to_thread(arrived.wait, 10)
    (payload,) = received
    assert payload["status"] == "success"
    assert payload["values"]["steps"] == ["first", "second", "third"]


@SQLITE_ONLY
async def test_failing_run_reports_error(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    with pytest.raises(Exception, match="TypeError"):
        await sdk.runs.wait(tid, "slow", input={"seconds": "not a number"})
    (run,) = await sdk.runs.list(tid)
    assert run["status"] == "error"
    assert (await sdk.threads.get(tid))["status"] == "error"
    parts = [p async for p in sdk.runs.join_stream(tid, run["run_id"])]
    (error,) = [p.data for p in parts if p.event == "error"]
    assert error["error"] == "TypeError"


@SQLITE_ONLY
async def test_interrupt_before_is_a_breakpoint(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    paused = await sdk.runs.wait(
        tid, "three_step", input={"topic": "b"}, interrupt_before=["second"]
    )
    assert isinstance(paused, dict) and paused["steps"] == ["first"]
    state = await sdk.threads.get_state(tid)
    assert state["next"] == ["second"] and state["interrupts"] == []
    assert (await sdk.threads.get(tid))["status"] == "interrupted"
    done = await sdk.runs.wait(tid, "three_step", input=None)
    assert isinstance(done, dict) and done["steps"] == ["first", "second", "third"]


@SQLITE_ONLY
async def test_cancel_many_by_thread(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    first = await sdk.runs.create(tid, "slow", input={"seconds": 30})
    second = await sdk.runs.create(tid, "slow", input={"seconds": 30}, multitask_strategy="enqueue")
    await _started(sdk, tid, first["run_id"])
    await sdk.runs.cancel_many(thread_id=tid)
    await sdk.runs.join(tid, first["run_id"])
    statuses = {r["run_id"]: r["status"] for r in await sdk.runs.list(tid)}
    assert statuses == {first["run_id"]: "interrupted", second["run_id"]: "interrupted"}
