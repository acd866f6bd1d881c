"""Error bodies: typed codes, no stack traces, size limits."""

from __future__ import annotations

import httpx
import pytest

# Behaviour that does not depend on the database: SQLite keeps the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_unknown_field_is_422_with_code(http: httpx.AsyncClient) -> None:
    tid = (await http.post("/threads", json={})).json()["thread_id"]
    response = await http.post(
        f"/threads/{tid}/runs",
        json={"assistant_id": "three_step", "input": {"topic": "x"}, "surprise": 1},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "surprise" in error["message"]


@SQLITE_ONLY
async def test_unsupported_field_is_422(http: httpx.AsyncClient) -> None:
    tid = (await http.post("/threads", json={})).json()["thread_id"]
    response = await http.post(
        f"/threads/{tid}/runs",
        json={"assistant_id": "three_step", "input": {"topic": "x"}, "after_seconds": 5},
    )
    assert response.status_code == 422
    assert "after_seconds" in response.json()["error"]["message"]


@SQLITE_ONLY
async def test_unknown_thread_and_assistant_are_404_json(http: httpx.AsyncClient) -> None:
    missing = await http.get("/threads/does-not-exist")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    no_graph = await http.post("/runs/wait", json={"assistant_id": "nope", "input": {}})
    assert no_graph.status_code == 404
    assert no_graph.json()["error"]["details"]["available"] == [
        "approval",
        "chat",
        "memory",
        "routed",
        "slow",
        "three_step",
    ]


@SQLITE_ONLY
async def test_oversize_body_is_413(http: httpx.AsyncClient) -> None:
    response = await http.post("/threads", json={"metadata": {"blob": "x" * 100_000}})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@SQLITE_ONLY
async def test_health_endpoints(http: httpx.AsyncClient) -> None:
    assert (await http.get("/ok")).json() == {"ok": True}
    assert (await http.get("/ready")).json()["ready"] is True
    assert "three_step" in (await http.get("/info")).json()["workflows"]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("POST", "/threads/t1/copy", "threads.copy"),
        ("POST", "/threads/prune", "threads.prune"),
    ],
)
async def test_known_but_unserved_endpoints_say_so(
    http: httpx.AsyncClient, method: str, path: str, operation: str
) -> None:
    response = await http.request(method, path, json={})
    assert response.status_code == 501
    error = response.json()["error"]
    assert error["code"] == "not_supported"
    assert error["details"] == {"operation": operation}


@SQLITE_ONLY
async def test_served_routes_beside_unserved_ones_still_answer(http: httpx.AsyncClient) -> None:
    assert (await http.get("/assistants/three_step")).status_code == 200
    assert (await http.get("/runs/no-such-run")).json()["error"]["code"] == "not_found"
