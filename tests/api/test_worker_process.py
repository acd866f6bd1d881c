"""`waypost worker` as a separate process on PostgreSQL, woken by LISTEN/NOTIFY (not polling)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from waypost.api.app import create_app
from waypost.graphs.langgraph_json import register_langgraph_json
from waypost.graphs.registry import GraphRegistry

from tests.api.conftest import make_settings
from tests.api.server import serve
from tests.api.worker_proc import WorkerProcess

BYO = Path(__file__).parent / "byo"


@pytest.mark.postgres
async def test_separate_worker_process_runs_sdk_requests(tmp_path: Path, postgres_url: str) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"shouter": f"{BYO / 'my_graph.py'}:graph"}}))
    env = {
        "WAYPOST_DATABASE__URL": postgres_url,
        "WAYPOST_ENV": "test",
        "WAYPOST_LOG_LEVEL": "WARNING",
    }
    settings = make_settings(postgres_url)
    app = create_app(settings, register_langgraph_json(GraphRegistry(), config), workers=False)
    with serve(app) as url:  # the API migrates the database and enqueues; it runs nothing
        worker = WorkerProcess(config, env, concurrency=2)
        client = get_client(url=url, api_key=None)
        try:
            assert worker.ready.wait(60), worker.log
            tid = (await client.threads.create())["thread_id"]
            started = time.perf_counter()
            paused = await client.runs.wait(tid, "shouter", input={"text": "hey"})
            done = await client.runs.wait(tid, "shouter", command={"resume": True})
            elapsed = time.perf_counter() - started
            assert isinstance(paused, dict) and "__interrupt__" in paused
            assert done == {"text": "hey", "shout": "HEY", "approved": True}
            # two runs, each needing two cross-process wake-ups: far below the 5 s safety poll
            assert elapsed < 3.0, elapsed
        finally:
            await client.http.client.aclose()
            code = worker.stop()
    assert code == 0, worker.log
