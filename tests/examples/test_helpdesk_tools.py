"""The helpdesk example's tools in process (imported from its sources, not installed, so no
entry point leaks into this test process): typed errors, a wipe acts once, tenants stay apart,
and its workflow pauses only for the irreversible call."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from waypost.graphs.kit import RUN_TENANT_KEY
from waypost.graphs.registry import GraphDeps
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.migrate import upgrade
from waypost.runtime.settings import DatabaseSettings, Settings
from waypost.tools import ToolContext

from tests.conftest import PROJECT_ROOT
from tests.fakes import ScriptedChatModel

EXAMPLE = PROJECT_ROOT / "examples" / "helpdesk"
call = ScriptedChatModel.tool_call


@pytest.fixture(scope="module")
def helpdesk() -> Iterator[Any]:
    sys.path.insert(0, str(EXAMPLE))
    try:
        import helpdesk.seed
        import helpdesk.tools
        import helpdesk.workflow

        yield helpdesk
    finally:
        sys.path.remove(str(EXAMPLE))
        for name in [m for m in sys.modules if m == "helpdesk" or m.startswith("helpdesk.")]:
            del sys.modules[name]


@pytest.fixture
def factory(helpdesk: Any, database_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(DatabaseSettings(url=database_url))
    upgrade(engine, locations=[helpdesk.domain.migrations])  # core chain + the helpdesk branch
    session_factory = make_session_factory(engine)
    helpdesk.seed.seed(session_factory)
    helpdesk.seed.seed(session_factory, tenant="acme")
    yield session_factory
    engine.dispose()


def _actions(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with factory() as session:
        sql = "SELECT tenant, action, target FROM helpdesk_actions ORDER BY id"
        return [(r[0], r[1], r[2]) for r in session.execute(text(sql))]


def test_tools_answer_with_typed_errors_and_act_once(helpdesk: Any, factory: Any) -> None:
    registry = helpdesk.tools.build_registry()

    def run(name: str, args: dict[str, Any], scope: str, tenant: str | None = None) -> Any:
        ctx = ToolContext(session_factory=factory, run_id=scope, tenant=tenant)
        return registry.execute(name, args, ctx, "call_1")

    missing = run("list_devices", {"email": "nobody@example.com"}, "read")
    assert (missing.ok, missing.error.code) == (False, "tool_not_found")
    bad = run("escalate_ticket", {"ticket_id": "T-501", "team": "finance", "note": "x"}, "t/1")
    assert (bad.ok, bad.error.code) == (False, "invalid_input")

    wipe = {"device_id": "LT-1001", "reason": "stolen"}
    assert run("wipe_device", wipe, "t/1").ok
    assert run("wipe_device", wipe, "t/1").replayed  # the same call again: recorded, not redone
    again = run("wipe_device", wipe, "t/2")  # a new turn acts afresh, and the store refuses
    assert (again.ok, again.error.code) == (False, "invalid_state")
    assert _actions(factory) == [("default", "wipe_device", "LT-1001")]

    # another tenant's device of the same id is untouched, and wiped only by that tenant
    acme = run("list_devices", {"email": "ada@example.com"}, "read", "acme").result
    assert [d["status"] for d in acme] == ["active", "active"]
    assert run("wipe_device", wipe, "t/3", "acme").ok
    assert _actions(factory)[-1] == ("acme", "wipe_device", "LT-1001")


def test_the_workflow_pauses_only_for_the_wipe(helpdesk: Any, factory: Any) -> None:
    model = ScriptedChatModel(
        responses=[
            ScriptedChatModel.tool_calls(
                [
                    ("reset_password", {"employee_id": "E-1002"}, "c1"),
                    ("wipe_device", {"device_id": "LT-2001", "reason": "lost"}, "c2"),
                ]
            ),
            "Done.",
        ]
    )
    deps = GraphDeps(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        checkpointer=InMemorySaver(),
        session_factory=factory,
        model_factory=lambda _name: model,
    )
    graph = helpdesk.workflow.build(deps)
    config: Any = {"configurable": {"thread_id": "t", RUN_TENANT_KEY: "acme"}}
    graph.invoke({"message": "grace@example.com: locked out, and I lost my laptop"}, config)
    (interrupt,) = graph.get_state(config).interrupts
    assert interrupt.value["tool"] == "wipe_device"
    assert _actions(factory) == [("acme", "reset_password", "E-1002")]  # at once, no approval

    out = graph.invoke(Command(resume={"decision": "reject", "comment": "found it"}), config)
    assert out["status"] == "completed" and out["reply"] == "Done."
    assert [(e["tool"], e["replayed"]) for e in out["executed"]] == [("reset_password", True)]
    assert _actions(factory) == [("acme", "reset_password", "E-1002")]
    assert "rejected this action: found it" in model.calls[-1].messages[-1].content
