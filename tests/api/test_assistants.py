"""Assistants with versions through the official ``langgraph_sdk``: CRUD, search, versions,
rollback with ``set_latest``, and runs that name the version they ran with."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError
from waypost.server.assistants import NAMESPACE_GRAPH, system_assistant_id


def test_system_assistant_ids_are_the_langgraph_servers() -> None:
    # the values langgraph-api and Aegra derive for these graph ids
    assert system_assistant_id("agent") == "fe096781-5601-53d2-b2f6-0d3403f7e9ca"
    assert system_assistant_id("chat") == "eb6db400-e3c8-5d06-a834-015cb89efe69"
    assert system_assistant_id("x") == str(uuid.uuid5(NAMESPACE_GRAPH, "x"))


async def _answer(sdk: LangGraphClient, assistant: str, http: httpx.AsyncClient) -> dict[str, Any]:
    """One run of ``assistant`` on a new thread: its output and its run record."""
    thread = await sdk.threads.create()
    created: list[Any] = []
    out = await sdk.runs.wait(
        thread["thread_id"], assistant, input={"question": "q"}, on_run_created=created.append
    )
    assert isinstance(out, dict)
    run = await sdk.runs.get(thread["thread_id"], created[0]["run_id"])
    summary = (await http.get(f"/runs/{run['run_id']}")).json()
    return {"out": out, "run": run, "summary": summary}


async def test_rollback_with_set_latest_changes_what_new_runs_use(
    sdk: LangGraphClient, http: httpx.AsyncClient
) -> None:
    assistant = await sdk.assistants.create(
        "routed",
        config={"configurable": {"model": "local:small", "prompt": "v1 prompt"}},
        name="support router",
        metadata={"team": "support"},
    )
    aid = assistant["assistant_id"]
    assert assistant["version"] == 1
    assert assistant["context"] == {"model": "local:small", "prompt": "v1 prompt"}  # kept in sync

    first = await _answer(sdk, aid, http)
    assert first["out"]["answered_by"] == "local:small"
    assert first["run"]["assistant_id"] == aid and first["run"]["assistant_version"] == 1
    assert first["summary"]["assistant_version"] == 1

    updated = await sdk.assistants.update(
        aid, config={"configurable": {"model": "openai:gpt-4o-mini", "prompt": "v2 prompt"}}
    )
    assert updated["version"] == 2 and updated["name"] == "support router"
    second = await _answer(sdk, aid, http)
    assert second["out"] == {
        "question": "q",
        "answered_by": "openai:gpt-4o-mini",
        "prompt": "v2 prompt",
    }
    assert second["run"]["assistant_version"] == 2

    rolled_back = await sdk.assistants.set_latest(aid, 1)
    assert rolled_back["version"] == 1
    assert rolled_back["config"]["configurable"]["model"] == "local:small"
    third = await _answer(sdk, aid, http)
    assert third["out"]["answered_by"] == "local:small" and third["out"]["prompt"] == "v1 prompt"
    assert third["run"]["assistant_version"] == 1 and third["summary"]["assistant_version"] == 1

    # a run's own configurable still wins over the assistant's, key by key
    thread = await sdk.threads.create()
    out = await sdk.runs.wait(
        thread["thread_id"], aid, input={}, config={"configurable": {"model": "override"}}
    )
    assert isinstance(out, dict)
    assert out["answered_by"] == "override" and out["prompt"] == "v1 prompt"

    versions = await sdk.assistants.get_versions(aid)
    assert [v["version"] for v in versions] == [2, 1]  # newest first; rollback adds none
    assert versions[0]["config"]["configurable"]["model"] == "openai:gpt-4o-mini"
    assert "updated_at" not in versions[0]


async def test_graph_default_assistant_is_versioned_too(
    sdk: LangGraphClient, http: httpx.AsyncClient
) -> None:
    default = await sdk.assistants.get("routed")
    assert default["assistant_id"] == system_assistant_id("routed")
    assert default["metadata"]["created_by"] == "system" and default["version"] == 1
    await sdk.assistants.update("routed", context={"model": "local:bigger"})
    answer = await _answer(sdk, "routed", http)  # by graph id
    assert answer["out"]["answered_by"] == "local:bigger"
    assert answer["run"]["assistant_id"] == default["assistant_id"]
    assert answer["run"]["assistant_version"] == 2
    await sdk.assistants.set_latest(default["assistant_id"], 1)
    assert (await _answer(sdk, "routed", http))["out"]["answered_by"] == "default-model"


async def test_create_search_count_update_delete(
    sdk: LangGraphClient, http: httpx.AsyncClient
) -> None:
    made = [
        await sdk.assistants.create(
            "routed", name=f"Router {i}", metadata={"team": "a" if i % 2 else "b", "i": i}
        )
        for i in range(5)
    ]
    own_id = str(uuid.uuid4())
    chosen = await sdk.assistants.create("three_step", assistant_id=own_id, name="steps")
    assert chosen["assistant_id"] == own_id
    same = await sdk.assistants.create("three_step", assistant_id=own_id, if_exists="do_nothing")
    assert same["name"] == "steps"
    with pytest.raises(ConflictError):
        await sdk.assistants.create("three_step", assistant_id=own_id)

    team_a = await sdk.assistants.search(metadata={"team": "a"}, sort_by="name", sort_order="asc")
    assert [a["name"] for a in team_a] == ["Router 1", "Router 3"]
    assert await sdk.assistants.count(metadata={"team": "a"}) == 2
    assert await sdk.assistants.count(graph_id="routed") == 6  # five plus the system one
    by_name = await sdk.assistants.search(name="router", graph_id="routed", limit=100)
    assert len(by_name) == 5
    picked = await sdk.assistants.search(graph_id="three_step", select=["assistant_id", "name"])
    assert all(set(a) == {"assistant_id", "name"} for a in picked)

    page = await http.post("/assistants/search", json={"graph_id": "routed", "limit": 4})
    assert len(page.json()) == 4
    assert page.headers["X-Pagination-Next"] == "4" and page.headers["X-Pagination-Total"] == "5"
    last = await http.post("/assistants/search", json={"graph_id": "routed", "offset": 4})
    assert len(last.json()) == 2 and "X-Pagination-Next" not in last.headers
    assert last.headers["X-Pagination-Total"] == "6"
    paged = await sdk.assistants.search(graph_id="routed", limit=4, response_format="object")
    assert paged["next"] == "4"

    target = made[0]["assistant_id"]
    changed = await sdk.assistants.update(
        target, metadata={"owner": "ops"}, name="Renamed", description="d"
    )
    assert changed["metadata"] == {"team": "b", "i": 0, "owner": "ops"}  # merged, not replaced
    assert changed["name"] == "Renamed" and changed["version"] == 2
    moved = await sdk.assistants.update(target, graph_id="chat")
    assert moved["graph_id"] == "chat" and moved["version"] == 3

    await sdk.assistants.delete(target)
    with pytest.raises(NotFoundError):
        await sdk.assistants.get(target)
    with pytest.raises(NotFoundError):
        await sdk.assistants.get_versions(target)
    with pytest.raises(NotFoundError):
        await sdk.assistants.delete(target)


async def test_assistant_errors_are_clear(sdk: LangGraphClient, http: httpx.AsyncClient) -> None:
    unknown_graph = await http.post("/assistants", json={"graph_id": "nope"})
    assert unknown_graph.status_code == 404
    assert "Graph 'nope' not found" in unknown_graph.json()["error"]["message"]
    bad_id = await http.post("/assistants", json={"graph_id": "routed", "assistant_id": "x"})
    assert bad_id.status_code == 422
    both = await http.post(
        "/assistants",
        json={"graph_id": "routed", "config": {"configurable": {"a": 1}}, "context": {"a": 2}},
    )
    assert both.status_code == 422 and "context" in both.json()["error"]["message"]
    bad_routing = await http.post(
        "/assistants",
        json={"graph_id": "routed", "context": {"routing": {"routed": {"plan": "gpt-4o"}}}},
    )
    assert bad_routing.status_code == 422
    assert "route routed.plan" in bad_routing.json()["error"]["message"]
    routed = await http.post(
        "/assistants",
        json={
            "graph_id": "routed",
            "config": {"configurable": {"routing": {"routed": {"plan": "openai:gpt-4o-mini"}}}},
        },
    )
    assert routed.status_code == 200, routed.text
    bad_select = await http.post("/assistants/search", json={"select": ["secret"]})
    assert bad_select.status_code == 422
    made = await sdk.assistants.create("routed")
    with pytest.raises(NotFoundError):
        await sdk.assistants.set_latest(made["assistant_id"], 7)
    with pytest.raises(UnprocessableEntityError):
        await sdk.assistants.get_graph(made["assistant_id"], xray=-1)
    unknown_run = await http.post(
        "/runs/wait", json={"assistant_id": str(uuid.uuid4()), "input": {}}
    )
    assert unknown_run.status_code == 404
    # an unknown assistant creates no stateless thread behind the refusal
    assert await sdk.threads.count() == 0


async def test_graph_and_schemas_of_a_created_assistant(sdk: LangGraphClient) -> None:
    made = await sdk.assistants.create("three_step", name="steps")
    graph = await sdk.assistants.get_graph(made["assistant_id"])
    assert {n["id"] for n in graph["nodes"]} >= {"first", "second", "third"}
    assert all("id" not in (n.get("data") or {}) for n in graph["nodes"] if n.get("data"))
    schemas = await sdk.assistants.get_schemas(made["assistant_id"])
    assert schemas["graph_id"] == "three_step"
    assert schemas["input_schema"]["properties"]["topic"]["type"] == "string"


async def test_deleting_an_assistant_cancels_its_runs(sdk: LangGraphClient) -> None:
    slow = await sdk.assistants.create("slow", name="sleeper")
    thread = await sdk.threads.create()
    run = await sdk.runs.create(thread["thread_id"], slow["assistant_id"], input={"seconds": 60})
    await sdk.assistants.delete(slow["assistant_id"])
    await sdk.runs.join(thread["thread_id"], run["run_id"])
    assert (await sdk.runs.get(thread["thread_id"], run["run_id"]))["status"] == "interrupted"
