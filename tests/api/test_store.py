"""The cross-thread store through the official ``langgraph_sdk`` (``client.store``), on the
official LangGraph store for SQLite and PostgreSQL, shared with graphs and scoped by tenant."""

from __future__ import annotations

import httpx
import pytest
from langgraph.store.memory import InMemoryStore
from langgraph_sdk.client import LangGraphClient
from waypost.server.store_api import TenantStore


async def test_put_get_search_delete_and_namespaces(
    sdk: LangGraphClient, http: httpx.AsyncClient
) -> None:
    await sdk.store.put_item(["users", "u1", "prefs"], "theme", {"color": "dark", "size": 3})
    await sdk.store.put_item(["users", "u1", "prefs"], "lang", {"code": "fr", "size": 1})
    await sdk.store.put_item(["users", "u2", "prefs"], "theme", {"color": "light", "size": 5})
    await sdk.store.put_item(["orgs", "o1"], "plan", {"tier": "pro"})

    item = await sdk.store.get_item(["users", "u1", "prefs"], "theme")
    assert item is not None
    assert item["namespace"] == ["users", "u1", "prefs"]  # the tenant prefix never shows
    assert item["key"] == "theme" and item["value"] == {"color": "dark", "size": 3}
    assert item["created_at"] and item["updated_at"]
    assert await sdk.store.get_item(["users", "u1", "prefs"], "missing") is None

    await sdk.store.put_item(["users", "u1", "prefs"], "theme", {"color": "blue", "size": 3})
    updated = await sdk.store.get_item(["users", "u1", "prefs"], "theme")
    assert updated is not None and updated["value"]["color"] == "blue"

    users = await sdk.store.search_items(["users"], limit=10)
    assert sorted((*i["namespace"], i["key"]) for i in users["items"]) == [
        ("users", "u1", "prefs", "lang"),
        ("users", "u1", "prefs", "theme"),
        ("users", "u2", "prefs", "theme"),
    ]
    big = await sdk.store.search_items(["users"], filter={"size": {"$gte": 3}})
    assert sorted(i["value"]["size"] for i in big["items"]) == [3, 5]
    dark = await sdk.store.search_items(["users", "u2"], filter={"color": "light"})
    assert [i["key"] for i in dark["items"]] == ["theme"]
    page = await sdk.store.search_items(["users"], limit=2, offset=2)
    assert len(page["items"]) == 1

    namespaces = await sdk.store.list_namespaces()
    assert sorted(map(tuple, namespaces["namespaces"])) == [
        ("orgs", "o1"),
        ("users", "u1", "prefs"),
        ("users", "u2", "prefs"),
    ]
    shallow = await sdk.store.list_namespaces(prefix=["users"], max_depth=2)
    assert sorted(map(tuple, shallow["namespaces"])) == [("users", "u1"), ("users", "u2")]
    by_suffix = await sdk.store.list_namespaces(suffix=["o1"])
    assert by_suffix["namespaces"] == [["orgs", "o1"]]

    await sdk.store.delete_item(["users", "u1", "prefs"], "theme")
    assert await sdk.store.get_item(["users", "u1", "prefs"], "theme") is None
    assert len((await sdk.store.search_items(["users"]))["items"]) == 2

    bad = await http.put("/store/items", json={"namespace": ["a.b"], "key": "k", "value": {}})
    assert bad.status_code == 422 and "periods" in bad.json()["error"]["message"]
    no_key = await http.get("/store/items", params={"namespace": "users"})
    assert no_key.status_code == 422
    not_object = await http.put("/store/items", json={"namespace": ["a"], "key": "k", "value": 3})
    assert not_object.status_code == 422


async def test_graphs_share_the_store_with_the_api(sdk: LangGraphClient) -> None:
    for note in ("likes tea", "prefers email"):
        thread = await sdk.threads.create()  # a new thread each time: the store spans them
        out = await sdk.runs.wait(
            thread["thread_id"], "memory", input={"user": "ada", "note": note}
        )
        assert isinstance(out, dict)
    assert out["notes"] == ["likes tea", "prefers email"]
    seen = await sdk.store.search_items(["notes", "ada"])
    assert sorted(i["value"]["text"] for i in seen["items"]) == ["likes tea", "prefers email"]
    await sdk.store.put_item(["notes", "ada"], "from-api", {"text": "added over HTTP"})
    thread = await sdk.threads.create()
    out = await sdk.runs.wait(thread["thread_id"], "memory", input={"user": "ada", "note": "x"})
    assert isinstance(out, dict) and "added over HTTP" in out["notes"]


@pytest.mark.parametrize("tenant_b", ["acme"])
async def test_tenants_see_only_their_own_items(tenant_b: str) -> None:
    base = InMemoryStore()
    a, b = TenantStore(base, "default"), TenantStore(base, tenant_b)
    await a.aput(("docs",), "k", {"owner": "a"})
    await b.aput(("docs",), "k", {"owner": "b"})
    await b.aput(("private", "x"), "k", {"owner": "b"})
    got = await a.aget(("docs",), "k")
    assert got is not None and got.value == {"owner": "a"} and got.namespace == ("docs",)
    assert [i.value["owner"] for i in await a.asearch(())] == ["a"]
    assert await a.alist_namespaces() == [("docs",)]
    assert sorted(await b.alist_namespaces()) == [("docs",), ("private", "x")]
    assert await b.alist_namespaces(max_depth=1) == [("docs",), ("private",)]
    assert await a.aget(("private", "x"), "k") is None
    # the base store holds both, each under its tenant
    assert sorted(await base.alist_namespaces(max_depth=1)) == [("acme",), ("default",)]
