"""Crons through the official ``langgraph_sdk`` (``client.crons``): create for a thread or
stateless, search, count, update, delete; and due crons firing exactly one run each."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError
from sqlalchemy import Engine, create_engine, text
from waypost.api.app import create_app
from waypost.graphs.registry import GraphRegistry
from waypost.runtime.db import sync_url
from waypost.runtime.settings import WorkerSettings

from tests.api.conftest import make_settings
from tests.api.server import serve


@pytest.fixture
def cron_server(database_url: str, registry: GraphRegistry) -> Iterator[tuple[str, Engine]]:
    settings = make_settings(database_url)
    settings.worker = WorkerSettings(concurrency=4, heartbeat_s=2, lease_s=10, cron_poll_s=0.1)
    engine = create_engine(sync_url(database_url))
    with serve(create_app(settings, registry)) as url:
        yield url, engine
    engine.dispose()


@pytest.fixture
async def client(cron_server: tuple[str, Engine]) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=cron_server[0], api_key=None)
    yield sdk
    await sdk.http.client.aclose()


def make_due(engine: Engine, cron_id: str, when: dt.datetime) -> None:
    """What a scheduler finds after downtime: the cron's next run date in the past."""
    value: Any = when
    if engine.dialect.name == "sqlite":  # stored as UTC text, as the app writes it
        value = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE crons SET next_run_date = :when WHERE cron_id = :cron_id"),
            {"when": value, "cron_id": cron_id},
        )


async def _eventually(predicate: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_cron_crud_and_validation(client: LangGraphClient, cron_server: Any) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    on_thread = await client.crons.create_for_thread(
        tid, "three_step", schedule="*/5 * * * *", input={"topic": "t"}, metadata={"k": 1}
    )
    assert on_thread["thread_id"] == tid and on_thread["on_run_completed"] is None
    assert on_thread["payload"]["input"] == {"topic": "t"}
    first_fire = dt.datetime.fromisoformat(on_thread["next_run_date"])
    now = dt.datetime.now(dt.UTC)
    assert now < first_fire <= now + dt.timedelta(minutes=5)
    assert first_fire.minute % 5 == 0 and first_fire.second == 0

    stateless = await client.crons.create(
        "routed", schedule="0 9 * * 1", timezone="America/New_York", input={"question": "q"}
    )
    assert stateless["thread_id"] is None and stateless["on_run_completed"] == "delete"
    nine_am = dt.datetime.fromisoformat(stateless["next_run_date"]).astimezone(
        zoneinfo.ZoneInfo("America/New_York")
    )
    assert (nine_am.hour, nine_am.minute, nine_am.weekday()) == (9, 0, 0)

    assert await client.crons.count() == 2
    assert await client.crons.count(thread_id=tid) == 1
    found = await client.crons.search(assistant_id="routed")
    assert [c["cron_id"] for c in found] == [stateless["cron_id"]]
    async with httpx.AsyncClient(base_url=cron_server[0]) as http:
        page = await http.post("/runs/crons/search", json={"limit": 1, "sort_by": "created_at"})
        assert page.headers["X-Pagination-Next"] == "1" and len(page.json()) == 1
        empty = await http.patch(f"/runs/crons/{stateless['cron_id']}", json={})
        assert empty.status_code == 422

    changed = await client.crons.update(
        on_thread["cron_id"],
        schedule="0 0 1 1 *",
        end_time=dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
        metadata={"j": 2},
        enabled=False,
    )
    assert changed["schedule"] == "0 0 1 1 *" and changed["enabled"] is False
    assert changed["metadata"] == {"k": 1, "j": 2}
    assert dt.datetime.fromisoformat(changed["next_run_date"]).month == 1
    assert changed["end_time"].startswith("2099-01-01")
    cleared = await client.crons.update(on_thread["cron_id"], end_time=None)
    assert cleared["end_time"] is None and cleared["schedule"] == "0 0 1 1 *"
    assert await client.crons.count(thread_id=tid) == 1
    assert len(await client.crons.search(enabled=False)) == 1

    with pytest.raises(UnprocessableEntityError, match="Invalid cron schedule"):
        await client.crons.create("routed", schedule="61 * * * *")
    with pytest.raises(UnprocessableEntityError, match="Invalid timezone"):
        await client.crons.create("routed", schedule="* * * * *", timezone="Mars/Base")
    with pytest.raises(NotFoundError):
        await client.crons.create("no-such-graph", schedule="* * * * *")
    with pytest.raises(NotFoundError):
        await client.crons.create_for_thread(
            "00000000-0000-0000-0000-000000000000", "routed", schedule="* * * * *"
        )

    await client.crons.delete(stateless["cron_id"])
    with pytest.raises(NotFoundError):
        await client.crons.delete(stateless["cron_id"])
    assert await client.crons.count() == 1
    await client.threads.delete(tid)  # a thread's crons go with it
    assert await client.crons.count() == 0


async def test_missed_fires_start_one_run_then_continue_from_now(
    client: LangGraphClient, cron_server: tuple[str, Engine]
) -> None:
    url, engine = cron_server
    tid = (await client.threads.create())["thread_id"]
    cron = await client.crons.create_for_thread(
        tid, "chat", schedule="0 * * * *", input={"messages": [{"role": "user", "content": "hi"}]}
    )
    # three hourly fires missed while nothing ran: one catch-up run, then the next hour
    make_due(engine, cron["cron_id"], dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
    runs = await _eventually(lambda: client.runs.list(tid))
    run = await client.runs.join(tid, runs[0]["run_id"])
    assert isinstance(run, dict) and run["messages"][-1]["content"] == "hello from the model"
    await asyncio.sleep(0.5)  # several scheduler ticks
    runs = await client.runs.list(tid)
    assert len(runs) == 1
    assert runs[0]["metadata"]["cron_id"] == cron["cron_id"]
    assert runs[0]["assistant_version"] == 1
    advanced = (await client.crons.search(thread_id=tid))[0]
    next_fire = dt.datetime.fromisoformat(advanced["next_run_date"])
    assert dt.datetime.now(dt.UTC) < next_fire <= dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    async with httpx.AsyncClient(base_url=url) as http:  # usage recorded like any run
        summary = (await http.get(f"/runs/{runs[0]['run_id']}")).json()
    assert summary["status"] == "success" and summary["input_tokens"] == 1000


async def test_stateless_crons_keep_or_delete_their_thread(
    client: LangGraphClient, cron_server: tuple[str, Engine]
) -> None:
    _, engine = cron_server
    kept = await client.crons.create(
        "routed", schedule="0 0 1 1 *", input={"question": "q"}, on_run_completed="keep"
    )
    dropped = await client.crons.create("routed", schedule="0 0 1 1 *", input={"question": "q"})
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    make_due(engine, kept["cron_id"], past)
    make_due(engine, dropped["cron_id"], past)

    async def kept_thread() -> Any:
        found = await client.threads.search(metadata={"cron_id": kept["cron_id"]})
        return found and found[0]["status"] == "idle" and found

    (thread,) = await _eventually(kept_thread)
    (run,) = await client.runs.list(thread["thread_id"])
    assert run["status"] == "success" and run["metadata"]["cron_id"] == kept["cron_id"]
    assert thread["values"]["answered_by"] == "default-model"

    async def advanced() -> bool:
        (cron,) = [c for c in await client.crons.search() if c["cron_id"] == dropped["cron_id"]]
        return dt.datetime.fromisoformat(cron["next_run_date"]) > dt.datetime.now(dt.UTC)

    await _eventually(advanced)  # it fired: its run was inserted with that advance

    async def dropped_gone() -> bool:
        return not await client.threads.search(metadata={"cron_id": dropped["cron_id"]})

    assert await _eventually(dropped_gone)  # the run ended and took its thread with it
