"""A due cron starts exactly one run with the API and two worker processes scheduling, and a
restart of the workers does not fire it again (PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from sqlalchemy import create_engine, text
from waypost.api.app import create_app
from waypost.graphs.langgraph_json import register_langgraph_json
from waypost.graphs.registry import GraphRegistry
from waypost.runtime.db import sync_url

from tests.api.conftest import make_settings
from tests.api.server import serve
from tests.api.worker_proc import worker_process

BYO = Path(__file__).parent / "byo"
CRONS = 6


def _runs_per_cron(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.cron_id, count(r.run_id) FROM crons c LEFT JOIN runs r "
                "ON r.metadata->>'cron_id' = c.cron_id GROUP BY c.cron_id"
            )
        ).all()
    return {cron_id: int(n) for cron_id, n in rows}


def _settled(engine: Any) -> bool:
    with engine.connect() as conn:
        busy = conn.execute(
            text("SELECT count(*) FROM runs WHERE status IN ('pending', 'running')")
        ).scalar_one()
    return busy == 0


async def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
@pytest.mark.timeout(180)
async def test_due_crons_fire_once_across_worker_processes_and_restarts(
    tmp_path: Path, postgres_url: str
) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"shout": f"{BYO / 'my_graph.py'}:graph"}}))
    env = {
        "WAYPOST_DATABASE__URL": postgres_url,
        "WAYPOST_ENV": "test",
        "WAYPOST_LOG_LEVEL": "WARNING",
        "WAYPOST_WORKER__CRON_POLL_S": "0.05",  # both schedulers look all the time
    }
    engine = create_engine(sync_url(postgres_url))
    app = create_app(
        make_settings(postgres_url), register_langgraph_json(GraphRegistry(), config), workers=False
    )
    with serve(app) as url:  # no workers: the API process schedules nothing
        client = get_client(url=url, api_key=None)
        try:
            crons = []
            for i in range(CRONS - 1):
                tid = (await client.threads.create())["thread_id"]
                crons.append(
                    await client.crons.create_for_thread(
                        tid, "shout", schedule="0 0 1 1 *", input={"text": f"t{i}"}
                    )
                )
            crons.append(
                await client.crons.create(
                    "shout", schedule="0 0 1 1 *", input={"text": "s"}, on_run_completed="keep"
                )
            )
            with (
                worker_process(config, env, concurrency=2) as first,
                worker_process(config, env, concurrency=2) as second,
            ):
                assert first.ready.wait(60), first.log
                assert second.ready.wait(60), second.log
                with engine.begin() as conn:  # every schedule is due now (missed, even)
                    conn.execute(
                        text("UPDATE crons SET next_run_date = :past"),
                        {"past": dt.datetime.now(dt.UTC) - dt.timedelta(days=2)},
                    )
                await _wait(
                    lambda: sum(_runs_per_cron(engine).values()) >= CRONS, 60, "the cron runs"
                )
                await _wait(lambda: _settled(engine), 60, "the runs to finish")
                await asyncio.sleep(1.0)  # twenty more ticks of each scheduler
                assert _runs_per_cron(engine) == {c["cron_id"]: 1 for c in crons}
            # both workers stopped; a restart finds nothing due
            with (
                worker_process(config, env, concurrency=2) as third,
                worker_process(config, env, concurrency=2) as fourth,
            ):
                assert third.ready.wait(60), third.log
                assert fourth.ready.wait(60), fourth.log
                await asyncio.sleep(1.5)
                assert _runs_per_cron(engine) == {c["cron_id"]: 1 for c in crons}
            now = dt.datetime.now(dt.UTC)
            for cron in await client.crons.search(limit=100):  # next January the 1st
                fire = dt.datetime.fromisoformat(cron["next_run_date"])
                assert fire > now and (fire.month, fire.day, fire.hour) == (1, 1, 0)
            statuses = [
                r["status"]
                for c in crons
                if c["thread_id"]
                for r in await client.runs.list(c["thread_id"])
            ]
            assert statuses == ["success"] * (CRONS - 1)
        finally:
            await client.http.client.aclose()
    engine.dispose()
