"""`waypost worker` as a separate process on PostgreSQL, woken by LISTEN/NOTIFY (not polling)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from api.app import create_app
from graphs.langgraph_json import register_langgraph_json
from graphs.registry import GraphRegistry
from tests.api.conftest import make_settings
from tests.api.server import serve

BYO = Path(__file__).parent / "byo"


@pytest.mark.postgres
async def test_separate_worker_process_runs_sdk_requests(tmp_path: Path, postgres_url: str) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"shouter": f"{BYO / 'my_graph.py'}:graph"}}))
    env = {
        **os.environ,
        "WAYPOST_DATABASE__URL": postgres_url,
        "WAYPOST_ENV": "test",
        "WAYPOST_LOG_LEVEL": "WARNING",
    }
    settings = make_settings(postgres_url)
    app = create_app(settings, register_langgraph_json(GraphRegistry(), config), workers=False)
    with serve(app) as url:  # the API migrates the database and enqueues; it runs nothing
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from waypost.cli import main; main()",
                "worker",
                "--concurrency",
                "2",
                "--config",
                str(config),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()
        output: list[str] = []

        def pump() -> None:
            assert worker.stdout is not None
            for line in worker.stdout:
                output.append(line)
                if line.startswith("worker "):
                    ready.set()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        client = get_client(url=url, api_key=None)
        try:
            assert ready.wait(60), "".join(output)
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
            worker.terminate()
            worker.wait(timeout=30)
            reader.join(timeout=5)
            if worker.stdout is not None:
                worker.stdout.close()
    assert worker.returncode == 0, "".join(output)
