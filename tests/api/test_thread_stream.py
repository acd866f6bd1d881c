"""``GET /threads/{id}/stream`` through ``client.threads.join_stream``: every run on the thread,
now and next, with ``Last-Event-ID`` replay and the ``lifecycle`` filter."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart


async def _collect(stream: Any, runs_done: int, into: list[StreamPart]) -> None:
    """Read ``stream`` (``await client.threads.join_stream(...)``) until ``runs_done`` ended."""
    done = 0
    async for part in await stream:
        into.append(part)
        if part.event == "metadata" and part.data.get("status") == "run_done":
            done += 1
            if done == runs_done:
                return


async def _joined(sdk: LangGraphClient, thread_id: str, runs: int, **kwargs: Any) -> Any:
    """A task collecting the thread stream until ``runs`` runs ended, started and connected."""
    parts: list[StreamPart] = []
    task = asyncio.create_task(_collect(sdk.threads.join_stream(thread_id, **kwargs), runs, parts))
    await asyncio.sleep(0.3)  # the GET is open before the runs start
    return task, parts


async def test_thread_stream_follows_every_run_and_replays(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    task, parts = await _joined(sdk, tid, runs=2)
    first = await sdk.runs.create(tid, "three_step", input={"topic": "a"}, stream_mode="custom")
    second = await sdk.runs.create(
        tid,
        "three_step",
        input={"topic": "b"},
        stream_mode=["values"],
        multitask_strategy="enqueue",
    )
    await asyncio.wait_for(task, 30)

    events = [(p.event, p.data) for p in parts]
    starts = [d["run_id"] for e, d in events if e == "metadata" and "attempt" in d]
    ends = [d["run_id"] for e, d in events if e == "metadata" and d.get("status") == "run_done"]
    assert starts == ends == [first["run_id"], second["run_id"]]
    end_of_first = events.index(("metadata", {"status": "run_done", "run_id": first["run_id"]}))
    assert [d for e, d in events[:end_of_first] if e == "custom"] == [
        {"node": "first"},
        {"node": "second"},
        {"node": "third"},
    ]
    values = [d for e, d in events[end_of_first:] if e == "values"]
    assert values[-1]["steps"] == ["first", "second", "third"] * 2
    # run_done frames carry no id (the SDK repeats the last one it saw, as SSE clients do)
    ids = [int(p.id) for p in parts if p.id is not None and "status" not in p.data]
    assert ids == sorted(ids) and len(ids) == len(set(ids))

    # reconnect after the first run's last event: only the second run is replayed
    last_of_first = max(int(p.id) for p in parts[:end_of_first] if p.id is not None)
    replay: list[StreamPart] = []
    await asyncio.wait_for(
        _collect(sdk.threads.join_stream(tid, last_event_id=str(last_of_first)), 1, replay), 10
    )
    replayed_runs = {p.data["run_id"] for p in replay if p.event == "metadata"}
    assert replayed_runs == {second["run_id"]}
    replayed_ids = [int(p.id) for p in replay if p.id is not None and "status" not in p.data]
    assert replayed_ids == [i for i in ids if i > last_of_first]


async def test_lifecycle_mode_sends_only_starts_and_ends(sdk: LangGraphClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    task, parts = await _joined(sdk, tid, runs=1, stream_mode="lifecycle")
    run = await sdk.runs.create(tid, "three_step", input={"topic": "a"}, stream_mode="custom")
    await asyncio.wait_for(task, 30)
    assert [p.event for p in parts] == ["metadata", "metadata"]
    assert parts[0].data == {"run_id": run["run_id"], "attempt": 1}
    assert parts[1].data == {"status": "run_done", "run_id": run["run_id"]}


async def test_thread_stream_errors(sdk: LangGraphClient, http: httpx.AsyncClient) -> None:
    tid = (await sdk.threads.create())["thread_id"]
    bad_mode = await http.get(f"/threads/{tid}/stream", params={"stream_modes": "values"})
    assert bad_mode.status_code == 422 and "Invalid stream mode" in bad_mode.text
    bad_id = await http.get(f"/threads/{tid}/stream", headers={"Last-Event-ID": "abc"})
    assert bad_id.status_code == 422
    missing = await http.get("/threads/00000000-0000-0000-0000-000000000000/stream")
    assert missing.status_code == 404
    # the JS SDK's spelling: a JSON array in stream_mode
    async with http.stream(
        "GET",
        f"/threads/{tid}/stream",
        params={"stream_mode": '["lifecycle","run_modes"]'},
        headers={"Last-Event-ID": "0"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
