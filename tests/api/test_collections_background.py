"""Large document batches over HTTP: a background run on the real queue, owned by its tenant.

A real server (workers in process) on SQLite and PostgreSQL, two tenants with admin keys, the
``hash`` embedder (no model).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from waypost.api.app import create_app

from tests.api.conftest import migrated_identities, tenants_settings
from tests.api.sample_graphs import make_registry
from tests.api.server import serve


@dataclass
class Served:
    base: str
    keys: dict[str, str]


@pytest.fixture
def served(database_url: str) -> Iterator[Served]:
    settings = tenants_settings(
        database_url, max_body_bytes=64_000, max_ingest_body_bytes=4_000_000
    )
    engine, identities = migrated_identities(settings)
    keys = {}
    for tenant in ("acme", "globex"):
        identities.create_tenant(tenant)
        keys[tenant] = identities.create_key(tenant, "admin", name=f"{tenant}-admin").key
    with serve(create_app(settings, make_registry())) as base:
        yield Served(base, keys)
    engine.dispose()


@pytest.fixture
async def acme(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-api-key": served.keys["acme"]}
    async with httpx.AsyncClient(base_url=served.base, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
async def globex(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-api-key": served.keys["globex"]}
    async with httpx.AsyncClient(base_url=served.base, headers=headers, timeout=60) as client:
        yield client


def _docs(n: int, prefix: str = "doc") -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{i}",
            "title": f"Policy {i}",
            "content": f"Section {i}: the allowance for item {i} is {i * 3} units per month.",
            "metadata": {"n": i},
        }
        for i in range(n)
    ]


NEEDLE = {
    "id": "needle",
    "title": "Zeppelin maintenance",
    "content": "Helium zeppelins need their envelopes inspected every fortnight.",
}


async def _finished(client: httpx.AsyncClient, accepted: dict[str, Any]) -> dict[str, Any]:
    """Wait for the run through the LangGraph join route; the run as polled afterwards."""
    output = (await client.get(f"{accepted['run']}/join")).json()
    run = (await client.get(accepted["run"])).json()
    return {"output": output, "run": run}


def _sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            events.append((fields["event"], json.loads(fields.get("data") or "null")))
    return events


async def test_a_large_batch_runs_on_the_queue_and_lands(
    acme: httpx.AsyncClient, globex: httpx.AsyncClient
) -> None:
    assert (await acme.put("/collections/big", json={"embedder": "hash"})).status_code == 201
    made = await acme.post("/collections/big/documents", json={"documents": [*_docs(300), NEEDLE]})
    assert made.status_code == 202, made.text
    accepted = made.json()
    assert accepted["status"] in ("pending", "running") and accepted["documents"] == 301
    assert accepted["run"] == f"/threads/{accepted['thread_id']}/runs/{accepted['run_id']}"
    assert made.headers["content-location"] == accepted["run"]

    done = await _finished(acme, accepted)
    assert done["run"]["status"] == "success", done
    report = done["output"]
    assert report["documents_added"] == 301 and report["documents_failed"] == 0
    assert report["chunks_added"] >= 301 and report["embedded"] >= 301
    assert report["errors"] == [] and report["documents"] == 301  # the size, not the batch

    listed = (await acme.get("/collections/big")).json()
    assert listed["documents"] == 301
    found = await acme.post("/collections/big/search", json={"query": "zeppelin envelopes"})
    assert found.json()["hits"][0]["doc_key"] == "needle"

    # a client joining the stream sees the progress and no copy of the batch
    stream = await acme.get(f"{accepted['stream']}")
    events = _sse_events(stream.text)
    progress = [data for name, data in events if name == "custom"]
    assert progress and progress[-1] == {
        "event": "ingest_progress",
        "collection": "big",
        "done": 301,
        "total": 301,
    }
    assert "needle" not in stream.text

    # the run is the tenant's: another tenant sees neither it nor its thread
    assert (await globex.get(accepted["run"])).status_code == 404
    assert (await globex.get(f"/threads/{accepted['thread_id']}")).status_code == 404
    assert (await globex.get(f"{accepted['run']}/join")).status_code == 404
    assert (await globex.get(f"/runs/{accepted['run_id']}")).status_code == 404
    theirs = (await globex.post("/threads/search", json={"limit": 100})).json()
    assert accepted["thread_id"] not in [t["thread_id"] for t in theirs]
    # nor their collection of the same name (which they do not have)
    assert (
        await globex.post("/collections/big/documents", json={"documents": _docs(1)})
    ).status_code == 404

    # the internal workflow is no assistant, and no run route can start it
    assistants = (await acme.post("/assistants/search", json={"limit": 100})).json()
    assert "waypost.ingest" not in {a["graph_id"] for a in assistants}
    thread = (await acme.post("/threads", json={})).json()["thread_id"]
    refused = await acme.post(
        f"/threads/{thread}/runs",
        json={"assistant_id": "waypost.ingest", "input": {"collection": "big", "documents": []}},
    )
    assert refused.status_code == 404


async def test_a_small_batch_stays_synchronous_unless_asked(acme: httpx.AsyncClient) -> None:
    await acme.put("/collections/kb", json={"embedder": "hash"})
    small = await acme.post("/collections/kb/documents", json={"documents": _docs(200)})
    assert small.status_code == 200, small.text
    assert small.json()["documents_added"] == 200 and small.json()["documents_failed"] == 0

    asked = await acme.post(
        "/collections/kb/documents", json={"documents": _docs(3, "bg"), "background": True}
    )
    assert asked.status_code == 202, asked.text
    done = await _finished(acme, asked.json())
    assert done["run"]["status"] == "success"
    assert done["output"]["documents_added"] == 3


async def test_a_bad_document_is_reported_and_the_others_land(acme: httpx.AsyncClient) -> None:
    await acme.put("/collections/kb", json={"embedder": "hash"})
    docs = _docs(250)
    docs[10] = {"id": "doc-3", "content": "a second doc-3"}  # the id is taken
    docs[20] = {"id": "blank", "content": "   \n  "}  # nothing to index
    made = await acme.post("/collections/kb/documents", json={"documents": docs})
    assert made.status_code == 202, made.text
    done = await _finished(acme, made.json())
    assert done["run"]["status"] == "success", done
    report = done["output"]
    assert report["documents_added"] == 248 and report["documents_failed"] == 2
    assert {(e["path"], e["code"]) for e in report["errors"]} == {
        ("doc-3", "duplicate_id"),
        ("blank", "empty_content"),
    }
    assert (await acme.get("/collections/kb")).json()["documents"] == 248


async def test_limits_answer_4xx_with_codes(acme: httpx.AsyncClient) -> None:
    await acme.put("/collections/kb", json={"embedder": "hash"})
    over = {"documents": [{"id": str(i), "content": "x"} for i in range(50_001)]}
    refused = await acme.post("/collections/kb/documents", json=over)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "too_many_documents"
    assert error["details"]["limit"] == 50_000 and error["details"]["received"] == 50_001

    # the ingest route's own body bound (4 MB here), larger than the general one (64 kB)
    huge = {"documents": [{"id": "big", "content": "x" * 4_100_000}]}
    too_large = await acme.post("/collections/kb/documents", json=huge)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "payload_too_large"
    elsewhere = await acme.post("/threads", json={"metadata": {"pad": "x" * 70_000}})
    assert elsewhere.status_code == 413

    missing = await acme.post("/collections/nope/documents", json={"documents": _docs(201)})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
