"""Issue 15's findings, one test each: bad input is a 4xx with a stable code and stores nothing."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from waypost.api.app import create_app
from waypost.graphs.langgraph_json import register_langgraph_json
from waypost.graphs.registry import GraphRegistry
from waypost.runtime.db import sync_url

from tests.api.conftest import make_settings
from tests.api.server import serve

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BYO = Path(__file__).parent / "byo"
STEPS = {"assistant_id": "three_step", "input": {"topic": "a"}}


async def _thread_with_state(http: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    tid = (await http.post("/threads", json={})).json()["thread_id"]
    assert (await http.post(f"/threads/{tid}/runs/wait", json=STEPS)).status_code == 200
    state = (await http.get(f"/threads/{tid}/state")).json()
    assert state["values"] == {"topic": "a", "steps": ["first", "second", "third"]}
    return tid, state


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


async def _count_threads(http: httpx.AsyncClient) -> int:
    count = (await http.post("/threads/count", json={})).json()
    assert isinstance(count, int)
    return count


# -- finding 1: a lone surrogate --------------------------------------------------------------
async def test_lone_surrogate_is_refused_and_nothing_is_stored(http: httpx.AsyncClient) -> None:
    before = await _count_threads(http)
    response = await http.post(
        "/threads",
        content=b'{"metadata": {"k": "\\ud800"}}',
        headers={"content-type": "application/json"},
    )
    error = _error(response, 422, "invalid_text")
    assert error["details"]["loc"] == ["body", "metadata", "k"]
    assert await _count_threads(http) == before
    # a surrogate *pair* is an ordinary character and is kept
    pair = await http.post(
        "/threads",
        content=b'{"metadata": {"k": "\\ud83d\\ude00"}}',
        headers={"content-type": "application/json"},
    )
    assert pair.status_code == 200
    assert pair.json()["metadata"] == {"k": "\U0001f600"}


async def test_a_thread_holding_bad_text_still_lists(
    http: httpx.AsyncClient, database_url: str
) -> None:
    """Rows written before the check existed: the listing and the thread still answer."""
    tid = (await http.post("/threads", json={})).json()["thread_id"]
    engine = create_engine(sync_url(database_url))
    with engine.begin() as conn:  # what the old server stored for {"k": "\ud800"}
        conn.execute(
            text("UPDATE threads SET metadata = :m WHERE thread_id = :t"),
            {"m": '{"k": "\\ud800"}', "t": tid},
        )
    engine.dispose()
    listed = await http.post("/threads/search", json={})
    assert listed.status_code == 200
    assert {"k": "\ufffd"} in [t["metadata"] for t in listed.json()]
    single = await http.get(f"/threads/{tid}")
    assert single.status_code == 200
    assert single.json()["metadata"] == {"k": "\ufffd"}


# -- finding 2: unknown checkpoints ---------------------------------------------------------
@SQLITE_ONLY
async def test_unknown_checkpoint_is_404_and_the_state_is_kept(http: httpx.AsyncClient) -> None:
    tid, state = await _thread_with_state(http)
    unknown = "1f0ffff0-0000-6000-8000-000000000000"
    run = await http.post(f"/threads/{tid}/runs/wait", json={**STEPS, "checkpoint_id": unknown})
    _error(run, 404, "checkpoint_not_found")
    nested = await http.post(
        f"/threads/{tid}/runs", json={**STEPS, "checkpoint": {"checkpoint_id": unknown}}
    )
    _error(nested, 404, "checkpoint_not_found")
    _error(await http.get(f"/threads/{tid}/state/{unknown}"), 404, "checkpoint_not_found")
    _error(
        await http.post(
            f"/threads/{tid}/state/checkpoint", json={"checkpoint": {"checkpoint_id": unknown}}
        ),
        404,
        "checkpoint_not_found",
    )
    _error(
        await http.post(f"/threads/{tid}/state", json={"values": {}, "checkpoint_id": unknown}),
        404,
        "checkpoint_not_found",
    )
    assert (await http.get(f"/threads/{tid}/state")).json() == state  # nothing ran, nothing lost
    assert len((await http.get(f"/threads/{tid}/runs")).json()) == 1
    # a known checkpoint still works
    known = state["checkpoint"]["checkpoint_id"]
    assert (await http.get(f"/threads/{tid}/state/{known}")).json()["values"] == state["values"]


# -- finding 3: 500s -------------------------------------------------------------------------
@SQLITE_ONLY
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"values": {"topic": "z"}, "as_node": "nope"}, "as_node"),
        ({"values": {"nope": 1}}, "unknown key"),
        ({"values": {"steps": 5}}, "TypeError"),
    ],
)
async def test_state_updates_the_graph_refuses_are_422(
    http: httpx.AsyncClient, body: dict[str, Any], fragment: str
) -> None:
    tid, state = await _thread_with_state(http)
    error = _error(await http.post(f"/threads/{tid}/state", json=body), 422, "invalid_state_update")
    assert fragment in error["message"]
    assert (await http.get(f"/threads/{tid}/state")).json() == state


@SQLITE_ONLY
@pytest.mark.parametrize("key", ["", "a b", "a;b"])
async def test_history_filter_keys_the_saver_refuses_are_422(
    http: httpx.AsyncClient, key: str
) -> None:
    tid, _ = await _thread_with_state(http)
    response = await http.post(f"/threads/{tid}/history", json={"metadata": {key: 1}})
    _error(response, 422, "invalid_input")
    ok = await http.post(f"/threads/{tid}/history", json={"metadata": {"source": "loop"}})
    assert ok.status_code == 200 and ok.json()


@SQLITE_ONLY
async def test_offsets_past_int64_are_422(http: httpx.AsyncClient) -> None:
    tid = (await http.post("/threads", json={})).json()["thread_id"]
    for path in ("/approvals", f"/threads/{tid}/runs"):
        _error(await http.get(path, params={"offset": 2**63}), 422, "invalid_input")
        assert (await http.get(path, params={"offset": 2**63 - 1})).json() == []


def _raw_exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request on an open socket; the status and body (Content-Length framed)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(head.split(b" ", 2)[1]), body


@SQLITE_ONLY
def test_an_unexpected_error_is_a_json_500_on_a_connection_that_stays_open(
    database_url: str, registry: GraphRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from waypost.api.access import ROUTE_ACCESS, Access

    monkeypatch.setitem(ROUTE_ACCESS, ("GET", "/boom"), Access("read"))
    app = create_app(make_settings(database_url), registry)

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with serve(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            get = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            status, body = _raw_exchange(sock, get % b"/boom")
            assert status == 500
            assert json.loads(body)["error"] == {
                "code": "internal_error",
                "message": "internal server error",
                "details": {},
            }
            status, body = _raw_exchange(sock, get % b"/ok")  # same connection, still served
            assert (status, json.loads(body)) == (200, {"ok": True})


# -- finding 4 ---------------------------------------------------------------------------------
async def test_nul_in_a_run_input_is_422_and_no_run_is_stored(http: httpx.AsyncClient) -> None:
    tid = (await http.post("/threads", json={})).json()["thread_id"]
    response = await http.post(
        f"/threads/{tid}/runs/wait",
        json={"assistant_id": "three_step", "input": {"topic": "a\u0000b"}},
    )
    error = _error(response, 422, "invalid_text")
    assert error["details"] == {"problem": "NUL", "loc": ["body", "input", "topic"]}
    assert (await http.get(f"/threads/{tid}/runs")).json() == []
    assert (await http.get(f"/threads/{tid}")).json()["status"] == "idle"
    # NUL in the path or the query is refused as well, before any lookup
    _error(await http.get("/threads/a%00b"), 422, "invalid_text")
    _error(await http.get(f"/threads/{tid}/runs", params={"status": "\u0000"}), 422, "invalid_text")


@SQLITE_ONLY
async def test_thread_ids_are_uuids(http: httpx.AsyncClient) -> None:
    before = await _count_threads(http)
    _error(await http.post("/threads", json={"thread_id": "not-a-uuid"}), 422, "invalid_input")
    created = await http.post("/threads/not-a-uuid/runs", json={**STEPS, "if_not_exists": "create"})
    _error(created, 422, "invalid_input")
    assert await _count_threads(http) == before
    upper = "6F1C2B1E-5A7D-4C63-9A52-2D0F3B9E7A10"
    made = await http.post("/threads", json={"thread_id": upper})
    assert made.json()["thread_id"] == upper.lower()


@SQLITE_ONLY
@pytest.mark.parametrize("field", ["interrupt_before", "interrupt_after"])
async def test_interrupts_at_unknown_nodes_are_422(http: httpx.AsyncClient, field: str) -> None:
    tid = (await http.post("/threads", json={})).json()["thread_id"]
    error = _error(
        await http.post(f"/threads/{tid}/runs", json={**STEPS, field: ["second", "nope"]}),
        422,
        "invalid_input",
    )
    assert error["details"]["unknown"] == ["nope"]
    assert (await http.get(f"/threads/{tid}/runs")).json() == []
    paused = await http.post(f"/threads/{tid}/runs/wait", json={**STEPS, field: ["second"]})
    assert paused.status_code == 200


@SQLITE_ONLY
def test_typed_endpoint_checks_a_langgraph_json_graph_input(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"byo": f"{BYO / 'my_graph.py'}:graph"}}))
    registry = register_langgraph_json(GraphRegistry(), config)
    with (
        serve(create_app(make_settings(database_url), registry)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        unknown = client.post("/workflows/byo/runs", json={"txt": "hi"})
        assert unknown.status_code == 422
        assert unknown.json()["error"]["details"]["errors"][0]["loc"] == ["body", "txt"]
        wrong_type = client.post("/workflows/byo/runs", json={"text": 5})
        assert wrong_type.status_code == 422
        assert client.post("/threads/count", json={}).json() == 0  # nothing was started
        ok = client.post("/workflows/byo/runs", json={"text": "hi"})
        assert ok.status_code == 200
        assert ok.json()["status"] == "interrupted"
