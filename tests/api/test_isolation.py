"""The isolation matrix, generated from the app's own route table.

Every route x {each role of tenant A, tenant B's admin, no key, a revoked key} gets the status
its access rule and its tenant say: 401 without a valid key, 403 for a role without the route's
scope, 404 for tenant A's ids seen by tenant B (exactly like ids that do not exist), and no
listing of B's shows A's data. No 5xx anywhere. A route the matrix does not know fails the test,
so a new route cannot escape it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from waypost.api.access import access_for
from waypost.api.app import create_app
from waypost.api.openapi import api_routes

from tests.api.conftest import make_settings, migrated_identities, tenants_settings
from tests.api.sample_graphs import make_registry
from tests.api.server import serve

ROLES = ("admin", "operator", "reviewer", "viewer")
NEW_THREAD = "0f5c7a1e-0000-4000-8000-00000000a001"  # created by create-routes, never reused


@dataclass
class World:
    base: str
    keys: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    fresh: Callable[[str], dict[str, str]] | None = None


# (method, path) -> request: body (json), query params. Destructive routes get fresh ids.
Body = dict[str, Any] | list[Any] | None
REQUESTS: dict[tuple[str, str], tuple[Body, dict[str, str]]] = {
    ("GET", "/ok"): (None, {}),
    ("GET", "/ready"): (None, {}),
    ("GET", "/info"): (None, {}),
    ("GET", "/auth/whoami"): (None, {}),
    ("POST", "/threads"): ({"metadata": {"made": "by-test"}}, {}),
    ("POST", "/threads/search"): ({"limit": 100}, {}),
    ("POST", "/threads/count"): ({}, {}),
    ("GET", "/threads/{thread_id}"): (None, {}),
    ("PATCH", "/threads/{thread_id}"): ({"metadata": {"x": 1}}, {}),
    ("DELETE", "/threads/{thread_id}"): (None, {}),
    ("GET", "/threads/{thread_id}/state"): (None, {}),
    ("POST", "/threads/{thread_id}/state"): ({"values": {"outcome": "edited"}}, {}),
    ("POST", "/threads/{thread_id}/state/checkpoint"): ({"checkpoint": {}}, {}),
    ("GET", "/threads/{thread_id}/state/{checkpoint_id}"): (None, {}),
    ("POST", "/threads/{thread_id}/history"): ({"limit": 5}, {}),
    ("GET", "/threads/{thread_id}/stream"): (None, {"stream_mode": "lifecycle"}),
    ("POST", "/threads/{thread_id}/runs"): (
        {"assistant_id": "three_step", "input": {"topic": "x"}, "multitask_strategy": "enqueue"},
        {},
    ),
    ("POST", "/threads/{thread_id}/runs/wait"): (
        {"assistant_id": "three_step", "input": {"topic": "x"}, "multitask_strategy": "enqueue"},
        {},
    ),
    ("POST", "/threads/{thread_id}/runs/stream"): (
        {"assistant_id": "three_step", "input": {"topic": "x"}, "multitask_strategy": "enqueue"},
        {},
    ),
    ("GET", "/threads/{thread_id}/runs"): (None, {}),
    ("GET", "/threads/{thread_id}/runs/{run_id}"): (None, {}),
    ("DELETE", "/threads/{thread_id}/runs/{run_id}"): (None, {}),
    ("GET", "/threads/{thread_id}/runs/{run_id}/join"): (None, {}),
    ("GET", "/threads/{thread_id}/runs/{run_id}/stream"): (None, {}),
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"): (None, {}),
    ("POST", "/threads/{thread_id}/copy"): (None, {}),
    ("POST", "/threads/prune"): ({"thread_ids": []}, {}),
    ("POST", "/runs"): ({"assistant_id": "three_step", "input": {"topic": "x"}}, {}),
    ("POST", "/runs/wait"): ({"assistant_id": "three_step", "input": {"topic": "x"}}, {}),
    ("POST", "/runs/stream"): ({"assistant_id": "three_step", "input": {"topic": "x"}}, {}),
    ("POST", "/runs/batch"): ([{"assistant_id": "three_step", "input": {"topic": "x"}}], {}),
    ("POST", "/runs/cancel"): ({"status": "pending"}, {}),
    ("GET", "/runs/{run_id}"): (None, {}),
    ("GET", "/approvals"): (None, {}),
    ("GET", "/approvals/{approval_id}"): (None, {}),
    ("POST", "/approvals/{approval_id}/decision"): ({"decision": "approve"}, {}),
    ("POST", "/assistants"): ({"graph_id": "three_step", "name": "made-by-test"}, {}),
    ("POST", "/assistants/search"): ({"limit": 100}, {}),
    ("POST", "/assistants/count"): ({}, {}),
    ("GET", "/assistants/{assistant_id}"): (None, {}),
    ("PATCH", "/assistants/{assistant_id}"): ({"metadata": {"x": 1}}, {}),
    ("DELETE", "/assistants/{assistant_id}"): (None, {}),
    ("GET", "/assistants/{assistant_id}/graph"): (None, {}),
    ("GET", "/assistants/{assistant_id}/schemas"): (None, {}),
    ("GET", "/assistants/{assistant_id}/subgraphs"): (None, {}),
    ("POST", "/assistants/{assistant_id}/versions"): ({}, {}),
    ("POST", "/assistants/{assistant_id}/latest"): ({"version": 1}, {}),
    ("POST", "/runs/crons"): (
        {"assistant_id": "three_step", "schedule": "0 0 1 1 *", "input": {"topic": "x"}},
        {},
    ),
    ("POST", "/threads/{thread_id}/runs/crons"): (
        {"assistant_id": "three_step", "schedule": "0 0 1 1 *", "input": {"topic": "x"}},
        {},
    ),
    ("POST", "/runs/crons/search"): ({"limit": 100}, {}),
    ("POST", "/runs/crons/count"): ({}, {}),
    ("GET", "/runs/crons/{cron_id}"): (None, {}),
    ("PATCH", "/runs/crons/{cron_id}"): ({"enabled": False}, {}),
    ("DELETE", "/runs/crons/{cron_id}"): (None, {}),
    ("PUT", "/store/items"): ({"namespace": ["notes"], "key": "k2", "value": {"v": 1}}, {}),
    ("GET", "/store/items"): (None, {"namespace": "secrets", "key": "k"}),
    ("DELETE", "/store/items"): ({"namespace": ["secrets"], "key": "k"}, {}),
    ("POST", "/store/items/search"): ({"namespace_prefix": ["secrets"]}, {}),
    ("POST", "/store/namespaces"): ({}, {}),
    ("GET", "/collections"): (None, {}),
    ("GET", "/collections/{collection}"): (None, {}),
    ("POST", "/collections/{collection}/search"): ({"query": "acme secret", "k": 3}, {}),
    ("POST", "/collections/{collection}/documents"): (
        {"documents": [{"id": "more", "content": "more acme notes"}]},
        {},
    ),
    ("DELETE", "/collections/{collection}"): (None, {}),
    ("PUT", "/collections/{collection}"): ({}, {}),
    ("POST", "/workflows/three_step/runs"): ({"topic": "x"}, {}),
    ("POST", "/workflows/approval/runs"): ({"order_id": "A-1"}, {}),
    ("POST", "/workflows/slow/runs"): ({"seconds": 0}, {}),
    ("POST", "/workflows/chat/runs"): ({"messages": [{"role": "user", "content": "hi"}]}, {}),
    ("POST", "/workflows/routed/runs"): ({}, {}),
    ("POST", "/workflows/memory/runs"): ({"note": "n"}, {}),
    ("GET", "/docs"): (None, {}),
    ("GET", "/redoc"): (None, {}),
}
DESTRUCTIVE = {
    ("DELETE", "/threads/{thread_id}"),
    ("DELETE", "/threads/{thread_id}/runs/{run_id}"),
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"),
    ("POST", "/approvals/{approval_id}/decision"),
    ("DELETE", "/assistants/{assistant_id}"),
    ("DELETE", "/runs/crons/{cron_id}"),
    ("DELETE", "/store/items"),
    ("DELETE", "/collections/{collection}"),
}
# known LangGraph routes answered 501 not_supported on purpose (still behind auth)
NOT_SERVED = {("POST", "/threads/prune"), ("POST", "/threads/{thread_id}/copy")}
# routes that create the named resource in the caller's own namespace when it has none: tenant B
# gets its own collection of that name (never A's), so only the leak check applies
# (PUT sorts after the other methods, so B's collection of that name exists only afterwards)
NAMESPACED_UPSERTS = {("PUT", "/collections/{collection}")}
# routes whose path names tenant A's resources: tenant B must get exactly 404
OWN_IDS = (
    "{thread_id}",
    "{run_id}",
    "{approval_id}",
    "{assistant_id}",
    "{cron_id}",
    "{collection}",
)


def _routes(app: Any) -> list[tuple[str, str]]:
    found = set()
    for route in api_routes(app.routes):
        for method in route.methods:
            if method != "HEAD":
                found.add((method, route.path))
    # routes outside the OpenAPI document (still behind the same access rules)
    for route in app.routes:
        path = getattr(route, "path", None)
        if path in ("/mcp", "/docs", "/redoc") or (path or "").startswith(
            "/threads/{thread_id}/copy"
        ):
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, path))
    found.add(("POST", "/threads/prune"))
    found.add(("POST", "/threads/{thread_id}/copy"))
    return sorted(found)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    settings = tenants_settings(database_url)
    engine, identities = migrated_identities(settings)
    identities.create_tenant("acme")
    identities.create_tenant("globex")
    keys = {role: identities.create_key("acme", role, name=f"acme-{role}").key for role in ROLES}
    keys["other"] = identities.create_key("globex", "admin", name="globex-admin").key
    revoked = identities.create_key("acme", "admin", name="gone")
    identities.revoke(revoked.key_id)
    keys["revoked"] = revoked.key
    app = create_app(settings, make_registry())
    with serve(app) as base:
        world = World(base=base, keys=keys)
        world.ids = _seed(base, keys["admin"])
        world.fresh = lambda what: _seed(base, keys["admin"], only=what)
        yield world
    engine.dispose()


def _seed(base: str, key: str, only: str | None = None) -> dict[str, str]:
    """Tenant A's resources: a thread paused at an approval, a finished run, an assistant, a
    cron and a store item."""
    import asyncio

    async def make() -> dict[str, str]:
        client = get_client(url=base, api_key=key)
        try:
            ids: dict[str, str] = {}
            thread = await client.threads.create(metadata={"owner": "acme"})
            ids["thread_id"] = thread["thread_id"]
            if only in (None, "thread", "run", "approval"):
                await client.runs.wait(thread["thread_id"], "approval", input={"order_id": "A-7"})
                runs = await client.runs.list(thread["thread_id"])
                ids["run_id"] = runs[0]["run_id"]
                history = await client.threads.get_history(thread["thread_id"], limit=1)
                ids["checkpoint_id"] = history[0]["checkpoint"]["checkpoint_id"]
                async with httpx.AsyncClient(base_url=base, headers={"x-api-key": key}) as http:
                    pending = (await http.get("/approvals", params={"status": "pending"})).json()
                ids["approval_id"] = next(
                    a["id"] for a in pending if a["thread_id"] == thread["thread_id"]
                )
            if only in (None, "assistant"):
                assistant = await client.assistants.create("three_step", name="acme-private")
                ids["assistant_id"] = assistant["assistant_id"]
            if only in (None, "cron"):
                cron = await client.crons.create("three_step", schedule="0 0 1 1 *")
                ids["cron_id"] = cron["cron_id"]
            if only in (None, "store"):
                await client.store.put_item(("secrets",), "k", {"secret": "acme-secret-value"})
            if only in (None, "collection"):
                name = f"acme-kb-{uuid.uuid4().hex[:8]}"
                async with httpx.AsyncClient(base_url=base, headers={"x-api-key": key}) as http:
                    await http.put(f"/collections/{name}", json={})
                    made = await http.post(
                        f"/collections/{name}/documents",
                        json={"documents": [{"id": "s", "content": "acme-secret-value here"}]},
                    )
                    assert made.status_code == 200, made.text
                ids["collection"] = name
            return ids
        finally:
            await client.http.client.aclose()

    return asyncio.run(make())


def _request(
    world: World, method: str, path: str, key: str | None, ids: dict[str, str]
) -> tuple[int, str]:
    body, params = REQUESTS[(method, path)]
    url = path
    for name, value in ids.items():
        url = url.replace("{" + name + "}", value)
    headers = {"x-api-key": key} if key else {}
    if path == "/mcp":
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        headers["accept"] = "application/json, text/event-stream"
    with httpx.Client(base_url=world.base, timeout=30) as http:
        if path.endswith("/stream") and method == "GET":  # a thread stream never ends
            with http.stream(method, url, params=params, headers=headers) as response:
                if response.status_code != 200:
                    response.read()
                    return response.status_code, response.text
                first = next(response.iter_text(), "")
                return response.status_code, first
        response = http.request(method, url, params=params, headers=headers, json=body)
        return response.status_code, response.text


def _expected_scope(method: str, path: str) -> str:
    access = access_for(method, path)
    assert access is not None, f"{method} {path} has no access rule in api/access.py"
    return access.scope


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_route_is_in_the_matrix_and_behaves(world: World) -> None:
    from waypost.server.identity import ROLE_SCOPES

    app_routes = _routes(create_app(make_settings("sqlite:///:memory:"), make_registry()))
    unknown = [r for r in app_routes if r not in REQUESTS and r[1] != "/mcp"]
    assert unknown == [], f"add these routes to the isolation matrix: {unknown}"
    failures: list[str] = []
    a_ids = {k: v for k, v in world.ids.items()}
    secret_values = [v for k, v in a_ids.items() if k != "checkpoint_id"] + ["acme-secret-value"]
    for method, path in app_routes:
        scope = _expected_scope(method, path)
        for caller in ("none", "revoked", "other", *ROLES):
            key = None if caller == "none" else world.keys[caller]
            ids = a_ids
            if (method, path) in DESTRUCTIVE and caller in ROLES:
                assert world.fresh is not None
                ids = {**a_ids, **world.fresh(_resource_of(path))}
            status, text = _request(world, method, path, key, ids)
            where = f"{method} {path} as {caller}: {status} {text[:160]}"
            if status >= 500 and not (status == 501 and (method, path) in NOT_SERVED):
                failures.append(f"5xx: {where}")
                continue
            if scope == "public":
                if status >= 400:
                    failures.append(f"public route refused: {where}")
                continue
            if caller in ("none", "revoked"):
                if status != 401:
                    failures.append(f"expected 401: {where}")
                continue
            role = "admin" if caller == "other" else caller
            if scope not in ROLE_SCOPES[role]:
                if status != 403:
                    failures.append(f"expected 403: {where}")
                continue
            if caller == "other":
                if (method, path) not in NAMESPACED_UPSERTS and any(
                    marker in path for marker in OWN_IDS
                ):
                    if status != 404:
                        failures.append(f"expected 404 across tenants: {where}")
                    continue
                # an upsert echoes the name the caller itself sent: that is not A's data
                sent = {ids["collection"]} if (method, path) in NAMESPACED_UPSERTS else set()
                leaked = [v for v in secret_values if v in text and v not in sent]
                if leaked:
                    failures.append(f"tenant B saw tenant A's data {leaked}: {where}")
                continue
            if status in (401, 403) or (
                status == 404 and any(m in path for m in OWN_IDS) and method == "GET"
            ):
                failures.append(f"own tenant refused: {where}")
    assert failures == [], "\n".join(failures)


def _resource_of(path: str) -> str:
    if "{approval_id}" in path:
        return "approval"
    if "{run_id}" in path:
        return "run"
    if "{assistant_id}" in path:
        return "assistant"
    if "cron" in path:
        return "cron"
    if path.startswith("/store"):
        return "store"
    if path.startswith("/collections"):
        return "collection"
    return "thread"


def test_the_decider_is_the_caller_and_the_audit_trail_records_it(world: World) -> None:
    with httpx.Client(base_url=world.base, timeout=30) as http:
        reviewer = {"x-api-key": world.keys["reviewer"]}
        approval_id = world.ids["approval_id"]
        decided = http.post(
            f"/approvals/{approval_id}/decision",
            json={"decision": "edit", "arguments": {"order_id": "A-8"}, "decided_by": "mallory"},
            headers=reviewer,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["approval"]["decided_by"] == "key:acme-reviewer"
        detail = http.get(f"/approvals/{approval_id}", headers=reviewer).json()
    events = [(e["event"], e["actor"]) for e in detail["events"]]
    assert events == [("requested", "workflow:approval"), ("edited", "key:acme-reviewer")]
    assert detail["events"][1]["arguments_after"]["order_id"] == "A-8"
    assert "mallory" not in json.dumps(detail)


def test_an_operator_cannot_answer_an_approval_through_a_resume(world: World) -> None:
    import asyncio

    async def attempt(key: str) -> int:
        client = get_client(url=world.base, api_key=key)
        try:
            await client.runs.create(
                world.ids["thread_id"], "approval", command={"resume": {"decision": "approve"}}
            )
            return 200
        except Exception as exc:
            return int(getattr(getattr(exc, "response", None), "status_code", 0))
        finally:
            await client.http.client.aclose()

    assert asyncio.run(attempt(world.keys["operator"])) == 403
    assert asyncio.run(attempt(world.keys["reviewer"])) == 200
