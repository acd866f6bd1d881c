"""The helpdesk example (``examples/helpdesk``), used the way a user would: pip builds and
installs it as its own package, an unmodified Waypost finds it through its entry point, and the
official ``langgraph_sdk`` drives it over HTTP against ``waypost serve`` in another process.

The model is an OpenAI-compatible server on loopback answering from a script (the real wire
protocol: tool calls, then an answer), chosen by ``WAYPOST_MODELS__DEFAULT`` like any model.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from sqlalchemy import create_engine, text

from tests.conftest import PROJECT_ROOT
from tests.fakes import ScriptedOpenAIServer

EXAMPLE = PROJECT_ROOT / "examples" / "helpdesk"
WAYPOST = [sys.executable, "-c", "from waypost.cli import main; main()"]

TURN_1 = "Hi, this is ada@example.com. My laptop was stolen from my car; please wipe it."
TURN_2 = (
    "Thanks. My phone was in the same bag, please wipe it too. "
    "And I'm locked out of my account now."
)
TRY = "I'm alan@example.com and I left my tablet on the train."
WIPE_LAPTOP = {"device_id": "LT-1001", "reason": "stolen"}
WIPE_PHONE = {"device_id": "PH-1002", "reason": "stolen"}
# Both turns use the same call ids, as models that number their calls do: side effects are
# keyed by (thread, turn, call), so turn 2's "call_2" is a new call, not a replay of turn 1's.
SCRIPT: list[Any] = [
    [("list_devices", {"email": "ada@example.com"}, "call_1")],
    [("wipe_device", WIPE_LAPTOP, "call_2")],
    "Your laptop LT-1001 has been wiped.",
    [
        ("reset_password", {"employee_id": "E-1001"}, "call_1"),
        ("wipe_device", WIPE_PHONE, "call_2"),
    ],
    "Your phone PH-1002 has been wiped and a reset link is on its way to ada@example.com.",
    # the tutorial's script (examples/helpdesk/try_helpdesk.py), on a new thread
    [("list_devices", {"email": "alan@example.com"}, "call_1")],
    [("wipe_device", {"device_id": "TB-3002", "reason": "lost"}, "call_2")],
    "Your tablet TB-3002 has been wiped.",
]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --target <dir> examples/helpdesk``: a real wheel build, from a
    copy (setuptools writes build/ and egg-info next to the sources)."""
    source = tmp_path_factory.mktemp("source") / "helpdesk"
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "--no-deps", "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (entry_points,) = target.glob("waypost_helpdesk-*.dist-info/entry_points.txt")
    assert "helpdesk = helpdesk:domain" in entry_points.read_text()
    return target


def _env(site: Path, database_url: str, model_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAYPOST_", "OPENAI_"))}
    env.update(
        PYTHONPATH=str(site),  # the only way Waypost learns of the plug-in: its dist-info
        WAYPOST_ENV="test",
        WAYPOST_LOG_LEVEL="WARNING",
        WAYPOST_DATABASE__URL=database_url,
        WAYPOST_MODELS__DEFAULT="openai:helpdesk-script",
        WAYPOST_MODELS__OPENAI_BASE_URL=model_url,
        WAYPOST_MODELS__TIMEOUT_S="10",
        WAYPOST_MODELS__MAX_RETRIES="0",
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def waypost_serve(env: Mapping[str, str], cwd: Path) -> Iterator[str]:
    """``waypost serve --port <free>`` as a child process; always stopped, killed if need be."""
    port = _free_port()
    log_path = cwd / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*WAYPOST, "serve", "--port", str(port)],
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 45
            while True:
                assert proc.poll() is None, f"waypost serve exited:\n{log_path.read_text()}"
                assert time.monotonic() < deadline, f"not up in 45 s:\n{log_path.read_text()}"
                try:
                    if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def _rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _actions(database_url: str) -> list[tuple[str, str, str]]:
    return [
        (tenant, action, target)
        for tenant, action, target in _rows(
            database_url, "SELECT tenant, action, target FROM helpdesk_actions ORDER BY id"
        )
    ]


async def _pending_interrupt(client: Any, thread_id: str) -> dict[str, Any]:
    state = await client.threads.get_state(thread_id)
    (interrupt,) = state["interrupts"]
    return dict(interrupt["value"])


async def test_installed_plugin_is_served_and_driven_through_the_sdk(
    installed: Path, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'waypost.db'}"
    model = ScriptedOpenAIServer(SCRIPT, model="helpdesk-script")
    with model as model_url:
        env = _env(installed, database_url, model_url)
        # the plug-in's own CLI group: migrates (core + every domain's branch) and seeds
        seeded = subprocess.run(
            [*WAYPOST, "helpdesk", "seed"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        assert "helpdesk_devices: 5" in seeded.stdout
        versions = {v for (v,) in _rows(database_url, "SELECT version_num FROM alembic_version")}
        assert "helpdesk_0001" in versions

        with waypost_serve(env, tmp_path) as url:
            client = get_client(url=url, api_key=None)
            try:
                await _drive(client, url, database_url)
            finally:
                await client.http.client.aclose()
            tried = subprocess.run(
                [sys.executable, str(EXAMPLE / "try_helpdesk.py"), "--url", url, "--approve", TRY],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert tried.returncode == 0, tried.stdout + tried.stderr
        assert "approval needed: Erase everything on device TB-3002" in tried.stdout
        assert f"[completed] {SCRIPT[-1]}" in tried.stdout
        assert _actions(database_url)[-1] == ("default", "wipe_device", "TB-3002")

    # what went over the wire: the six typed tools, and each tool result back to the model
    assert len(model.requests) == len(SCRIPT) and not model.script  # each answer used once
    first = model.requests[0]
    assert first["model"] == "helpdesk-script"
    assert sorted(t["function"]["name"] for t in first["tools"]) == [
        "escalate_ticket",
        "find_employee",
        "get_ticket",
        "list_devices",
        "reset_password",
        "wipe_device",
    ]
    seen = model.requests[1]["messages"]
    assert seen[0]["role"] == "system" and "IT helpdesk" in seen[0]["content"]
    assert seen[-1]["role"] == "tool" and seen[-1]["tool_call_id"] == "call_1"
    assert [d["device_id"] for d in json.loads(seen[-1]["content"])] == ["LT-1001", "PH-1002"]


async def _drive(client: Any, url: str, database_url: str) -> None:
    (assistant,) = await client.assistants.search(graph_id="helpdesk")
    assert assistant["name"] == "helpdesk"
    tid = (await client.threads.create())["thread_id"]

    # turn 1: a read, then the irreversible wipe, which waits for a person
    paused = await client.runs.wait(tid, "helpdesk", input={"message": TURN_1})
    assert "__interrupt__" in paused
    request = await _pending_interrupt(client, tid)
    assert (request["tool"], request["arguments"], request["risk"]) == (
        "wipe_device",
        WIPE_LAPTOP,
        "irreversible",
    )
    # LangChain's human-in-the-loop shape, which LangGraph UIs render
    assert request["action_requests"] == [
        {
            "name": "wipe_device",
            "args": WIPE_LAPTOP,
            "description": "Erase everything on device LT-1001 (reason: stolen). "
            "This cannot be undone.",
        }
    ]
    assert request["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
    assert _actions(database_url) == []  # nothing is wiped before the approval
    assert _rows(database_url, "SELECT status FROM helpdesk_devices WHERE device_id='LT-1001'") == [
        ("active",)
    ]

    # approve through the approvals inbox; the paused run resumes on a worker
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        pending = await http.get("/approvals", params={"thread_id": tid, "status": "pending"})
        (approval,) = pending.json()
        decided = await http.post(
            f"/approvals/{approval['id']}/decision", json={"decision": "approve"}
        )
        assert decided.status_code == 200, decided.text
    resumed = await client.runs.join(tid, decided.json()["run"]["run_id"])
    assert resumed["status"] == "completed"
    assert resumed["reply"] == SCRIPT[2]
    assert _actions(database_url) == [("default", "wipe_device", "LT-1001")]
    assert _rows(database_url, "SELECT status FROM helpdesk_devices WHERE device_id='LT-1001'") == [
        ("wiped",)
    ]

    # turn 2 on the same thread: a write that needs no approval runs at once, the wipe waits
    await client.runs.wait(tid, "helpdesk", input={"message": TURN_2})
    request = await _pending_interrupt(client, tid)
    assert (request["tool"], request["arguments"]) == ("wipe_device", WIPE_PHONE)
    assert _actions(database_url)[1:] == [("default", "reset_password", "E-1001")]

    # resume with LangChain's HITL decision body as the run command
    done = await client.runs.wait(
        tid, "helpdesk", command={"resume": {"decisions": [{"type": "approve"}]}}
    )
    assert done["status"] == "completed"
    assert done["reply"] == SCRIPT[4]
    # the tools step ran again after the pause; the reset it had done was replayed, not redone
    assert [(e["tool"], e["ok"], e["replayed"]) for e in done["executed"]] == [
        ("reset_password", True, True),
        ("wipe_device", True, False),
    ]
    assert _actions(database_url) == [
        ("default", "wipe_device", "LT-1001"),
        ("default", "reset_password", "E-1001"),
        ("default", "wipe_device", "PH-1002"),
    ]

    state = await client.threads.get_state(tid)
    kinds = [m["type"] for m in state["values"]["messages"]]
    assert kinds == ["human", "ai", "tool", "ai", "tool", "ai", "human", "ai", "tool", "tool", "ai"]
