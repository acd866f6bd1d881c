"""What Agent Chat UI sends and expects, through the official Python SDK and plain HTTP.

The UI (``useStream``) streams runs with ``values``, ``messages-tuple`` and ``custom``,
``stream_subgraphs``, ``stream_resumable``, ``on_disconnect`` and the ``checkpoint`` it shows,
sends ``input: {}`` beside every resume, lists threads by ``graph_id`` or assistant uuid with
their values, reads history newest first, and takes run ids from ``Content-Location``. Behind
its Next.js passthrough, requests lose ``Content-Type`` and DELETE bodies, and carry the
placeholder key ``remove-me``.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from waypost.api.app import create_app
from waypost.domains.retail.tools import load_tau2_db
from waypost.domains.retail.workflow import build as build_retail
from waypost.domains.retail.workflow import retail_support_spec
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphDeps, GraphRegistry
from waypost.runtime.db import make_engine, make_session_factory

from tests.api.conftest import make_settings
from tests.api.server import serve
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN, TINY_DB

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
UI_ORIGIN = "http://127.0.0.1:3100"
STREAM_OPTIONS: dict[str, Any] = {
    "stream_mode": ["values", "messages-tuple", "custom"],
    "stream_subgraphs": True,
    "stream_resumable": True,
    "on_disconnect": "continue",
}


@pytest.fixture
async def ui_server(sqlite_url: str) -> AsyncIterator[str]:
    engine = make_engine(make_settings(sqlite_url).database)
    migrate(engine)
    load_tau2_db(make_session_factory(engine), copy.deepcopy(TINY_DB))
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN])

    def build(deps: GraphDeps) -> Any:
        return build_retail(replace(deps, model_factory=lambda _name: model))

    registry = GraphRegistry()
    registry.register(replace(retail_support_spec(), build=build))
    app = create_app(make_settings(sqlite_url, cors_origins=[UI_ORIGIN]), registry)
    with serve(app) as base:
        yield base
    engine.dispose()


async def test_a_chat_turn_with_an_approval_as_the_ui_streams_it(ui_server: str) -> None:
    sdk = get_client(url=ui_server, api_key="remove-me")  # the passthrough's placeholder
    thread = await sdk.threads.create(metadata={})
    tid = thread["thread_id"]
    human = {
        "id": str(uuid.uuid4()),
        "type": "human",
        "content": [{"type": "text", "text": CANCEL_MESSAGE}],
    }
    events = [
        (part.event, part.data)
        async for part in sdk.runs.stream(
            tid, "retail_support", input={"messages": [human]}, **STREAM_OPTIONS
        )
    ]
    assert events[0][0] == "metadata"
    # the judgement steps' JSON answers are not chat messages: nothing streams as `messages`
    assert [e for e, _ in events if e.startswith("messages")] == []
    values = [d for e, d in events if e == "values"]
    (interrupt,) = values[-1]["__interrupt__"]
    assert interrupt["value"]["action_requests"][0]["name"] == "cancel_pending_order"
    assert interrupt["value"]["action_request"]["action"] == "cancel_pending_order"
    assert values[-1]["messages"][0]["id"] == human["id"]

    # the thread list: by graph id, or by the assistant's uuid, with its values
    meta = (await sdk.threads.get(tid))["metadata"]
    assert meta["graph_id"] == "retail_support"
    for by in ({"graph_id": "retail_support"}, {"assistant_id": meta["assistant_id"]}):
        (listed,) = await sdk.threads.search(metadata=by, limit=100, offset=0)
        assert listed["thread_id"] == tid
        assert listed["values"]["messages"][0]["content"] == human["content"]
    assert await sdk.threads.search(metadata={"graph_id": "another_graph"}) == []

    history = await sdk.threads.get_history(tid, limit=10)  # newest first
    assert history[0]["next"] == ["approve"]
    assert [i["id"] for t in history[0]["tasks"] for i in t["interrupts"]] == [interrupt["id"]]
    assert history[-1]["next"] == ["__start__"]
    head = {k: v for k, v in history[0]["checkpoint"].items() if k != "thread_id"}

    # the UI's resume: an empty input beside the command, the head it shows, its own modes
    resumed = [
        (part.event, part.data)
        async for part in sdk.runs.stream(
            tid,
            "retail_support",
            input={},
            command={"resume": {"decisions": [{"type": "approve"}]}},
            checkpoint=head,
            stream_mode=["messages-tuple", "values", "custom"],
            stream_resumable=False,
            on_disconnect="cancel",
        )
    ]
    streamed = [d for e, d in resumed if e == "messages"]
    assert len(streamed) == 1
    chunk, chunk_meta = streamed[0]
    assert chunk["type"] == "ai" and chunk["id"] and chunk["content"].startswith("Done: cancel")
    assert chunk_meta["langgraph_node"] == "reply"
    final = await sdk.threads.get_state(tid)
    assert final["next"] == []
    assert [m["type"] for m in final["values"]["messages"]] == ["human", "ai"]
    assert final["values"]["messages"][1]["id"] == chunk["id"]
    await sdk.http.client.aclose()


async def test_browser_calls_cross_origin_and_read_the_run_id(ui_server: str) -> None:
    """The UI calls the API from the browser: CORS for its origin, and ``Content-Location``
    readable (useStream takes the run id from it)."""
    async with httpx.AsyncClient(base_url=ui_server, timeout=30) as http:
        preflight = await http.options(
            "/threads",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key,x-auth-scheme",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        tid = (await http.post("/threads", json={}, headers={"Origin": UI_ORIGIN})).json()[
            "thread_id"
        ]
        run = await http.post(
            f"/threads/{tid}/runs",
            json={"assistant_id": "retail_support", "input": {"message": "hello"}},
            headers={"Origin": UI_ORIGIN},
        )
        assert run.status_code == 200, run.text
        exposed = run.headers["access-control-expose-headers"].lower()
        assert "content-location" in exposed and "location" in exposed.split(", ")
        assert run.headers["content-location"] == f"/threads/{tid}/runs/{run.json()['run_id']}"
        other = await http.options(
            "/threads",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in other.headers


@SQLITE_ONLY
async def test_passthrough_requests_without_content_type(http: httpx.AsyncClient) -> None:
    """The Next.js passthrough forwards only ``x-*`` and ``authorization`` headers: JSON
    bodies arrive without a type; a browser's (it sends ``Origin``) still must declare one."""
    proxied = {"x-api-key": "remove-me"}
    made = await http.post("/threads", content=json.dumps({"metadata": {"a": 1}}), headers=proxied)
    assert made.status_code == 200, made.text
    tid = made.json()["thread_id"]
    found = await http.post(
        "/threads/search", content=json.dumps({"metadata": {"a": 1}}), headers=proxied
    )
    assert [t["thread_id"] for t in found.json()] == [tid]
    done = await http.post(
        f"/threads/{tid}/runs/wait",
        content=json.dumps({"assistant_id": "three_step", "input": {"topic": "proxied"}}),
        headers=proxied,
    )
    assert done.status_code == 200, done.text
    assert done.json()["topic"] == "proxied"

    bad = await http.post("/threads", content=b"{not json", headers=proxied)
    assert bad.status_code == 422
    # a page in a browser cannot post JSON without a preflight: no type, no JSON
    csrf = await http.post(
        "/threads",
        content=json.dumps({"metadata": {"b": 2}}),
        headers={"Origin": "http://evil.example"},
    )
    assert csrf.status_code == 422
    assert (await http.post("/threads/count", json={"metadata": {"b": 2}})).json() == 0


@SQLITE_ONLY
async def test_store_delete_without_a_body(http: httpx.AsyncClient) -> None:
    """The passthrough drops DELETE bodies: the query form GET uses works too, and a bare
    DELETE says what it needs."""
    item = {"namespace": ["notes", "ada"], "key": "k1", "value": {"v": 1}}
    assert (await http.put("/store/items", json=item)).status_code == 204
    bare = await http.delete("/store/items")
    assert bare.status_code == 422
    assert "namespace=a.b&key=k" in bare.json()["error"]["message"]
    gone = await http.delete("/store/items", params={"namespace": "notes.ada", "key": "k1"})
    assert gone.status_code == 204
    got = await http.get("/store/items", params={"namespace": "notes.ada", "key": "k1"})
    assert got.json() is None
