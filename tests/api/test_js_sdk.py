"""The official LangGraph JavaScript SDK (``@langchain/langgraph-sdk`` from npm, pinned by
``tests/js/package-lock.json``) drives the retail approval flow against a real Waypost server,
with the calls Agent Chat UI makes: a streamed run to its approval, the thread list by
``graph_id``/``assistant_id``, history, then a LangChain v1 HITL resume; and a second thread
decided through ``POST /approvals/{id}/decision`` whose late HITL resume is refused.

Node comes from the system packages; ``.ci/run`` runs ``npm ci`` in ``tests/js``. Skipped only
when ``node`` is not installed; without ``node_modules`` the test runs ``npm ci`` itself.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from waypost.api.app import create_app
from waypost.domains.retail.tools import export_tau2_db, load_tau2_db
from waypost.domains.retail.workflow import build as build_retail
from waypost.domains.retail.workflow import retail_support_spec
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphDeps, GraphRegistry
from waypost.runtime.db import make_engine, make_session_factory

from tests.api.conftest import make_settings
from tests.api.server import serve
from tests.conftest import PROJECT_ROOT
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN, TINY_DB

JS = PROJECT_ROOT / "tests" / "js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

MESSAGE_B = "Hi, Ada Byron here, zip 62701. Please cancel order #W0000003, I ordered it by mistake."
INTAKE_B = {
    "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
    "requests": [{"kind": "cancel_order", "order_id": "#W0000003", "reason": "by mistake"}],
}
PLAN_B = {
    "actions": [{"kind": "cancel_order", "order_id": "#W0000003", "reason": "ordered by mistake"}]
}


def _store() -> dict[str, Any]:
    db = copy.deepcopy(TINY_DB)
    third = copy.deepcopy(db["orders"]["#W0000001"])
    third["order_id"] = "#W0000003"
    db["orders"]["#W0000003"] = third
    db["users"]["ada_byron_1815"]["orders"].append("#W0000003")
    return db


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """``tests/js/node_modules`` from the lockfile (``npm ci``) when it is not there yet."""
    if not (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is installed but npm is not: run `npm ci` in tests/js"
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return JS / "node_modules"


@pytest.fixture
def retail_server(sqlite_url: str) -> Iterator[tuple[str, Any]]:
    engine = make_engine(make_settings(sqlite_url).database)
    migrate(engine)
    factory = make_session_factory(engine)
    load_tau2_db(factory, _store())
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN, INTAKE_B, PLAN_B])

    def build(deps: GraphDeps) -> Any:
        return build_retail(replace(deps, model_factory=lambda _name: model))

    registry = GraphRegistry()
    registry.register(replace(retail_support_spec(), build=build))
    with serve(create_app(make_settings(sqlite_url), registry)) as base:
        yield base, factory
    engine.dispose()


def test_js_sdk_drives_the_approval_flow(
    node_modules: Path, retail_server: tuple[str, Any]
) -> None:
    url, factory = retail_server
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(JS / "approval_flow.mjs"), url, CANCEL_MESSAGE, MESSAGE_B],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NODE_OPTIONS": "--no-warnings"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["info"] == 200

    a = seen["a"]
    assert a["first_event"] == "metadata"
    assert a["created"] == {"run_id": a["run_metadata"]["run_id"], "thread_id": a["thread_id"]}
    # the interrupt as both UIs render it: LangChain v1 HITL and the agent-inbox shape
    assert a["action_requests"][0]["name"] == "cancel_pending_order"
    assert a["action_requests"][0]["args"]["order_id"] == "#W0000001"
    assert a["review_configs"] == [
        {"action_name": "cancel_pending_order", "allowed_decisions": ["approve", "edit", "reject"]}
    ]
    assert a["agent_inbox"]["action_request"]["action"] == "cancel_pending_order"
    assert a["agent_inbox"]["config"]["allow_accept"] is True
    assert a["history_next"] == ["approve"]
    assert a["history_interrupts"] == [a["interrupt_id"]]
    # the thread is listed the way Agent Chat UI lists it, by graph id or assistant uuid
    assert a["thread_metadata"]["graph_id"] == "retail_support"
    assert a["listed_by_graph_id"] and a["listed_by_assistant_id"]
    assert a["listed_first_message"] == [{"type": "text", "text": CANCEL_MESSAGE}]
    # the model steps' JSON is not streamed as chat messages; the reply is
    assert a["streamed_before_approval"] == []
    (reply,) = a["streamed_after_approval"]
    assert reply["type"] == "ai" and "#W0000001" in reply["text"]
    assert a["resumed_events"][0] == "metadata" and "values" in a["resumed_events"]
    assert [m["type"] for m in a["final_messages"]] == ["human", "ai"]
    assert a["final_messages"][1]["content"] == reply["text"]
    assert a["final_next"] == []

    b = seen["b"]
    assert b["approval_interrupt_id"] == b["interrupt_id"]
    assert b["decision_status"] == 200
    (reply_b,) = b["streamed_after_approval"]
    assert "#W0000003" in reply_b["text"]
    assert b["late_resume_status"] == 409  # one decision wins: the approvals API's
    assert [m["type"] for m in b["final_messages"]] == ["human", "ai"]

    with factory() as session:
        orders = export_tau2_db(session)["orders"]
    assert orders["#W0000001"]["status"] == "cancelled"
    assert orders["#W0000003"]["status"] == "cancelled"
    assert orders["#W0000002"]["status"] == "delivered"
