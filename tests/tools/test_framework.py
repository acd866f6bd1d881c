"""The tool framework: schemas, risk levels, specs, and the LangChain adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools import (
    RETAIL_TOOLS,
    build_retail_registry,
    export_tau2_db,
    seed_store,
)
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings
from waypost.tools import RiskLevel, ToolContext, as_langchain_tools

from tests.tools.conftest import TOOLS_JSON

WRITE_TOOLS = {
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
}
# money goes back or the order is gone: no later call undoes them
IRREVERSIBLE_TOOLS = {
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "return_delivered_order_items",
}


@pytest.fixture
def demo_factory(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'demo.db'}"))
    migrate(engine)
    factory = make_session_factory(engine)
    seed_store(factory, None, force=False)
    return factory


def test_sixteen_tools_with_their_risk() -> None:
    registry = build_retail_registry()
    assert len(registry) == 16
    assert {s.name for s in registry.specs() if s.risk is RiskLevel.WRITE} == WRITE_TOOLS
    irreversible = {s.name for s in registry.specs() if s.risk is RiskLevel.IRREVERSIBLE}
    assert irreversible == IRREVERSIBLE_TOOLS
    assert registry.get("transfer_to_human_agents").risk is RiskLevel.READ
    assert [t.name for t in RETAIL_TOOLS] == registry.names


@pytest.mark.reference
def test_openai_schemas_match_tools_json() -> None:
    if not TOOLS_JSON.is_file():
        pytest.skip(f"the tau2 retail reference world is absent ({TOOLS_JSON.parent})")
    reference = json.loads(TOOLS_JSON.read_text(encoding="utf-8"))
    assert build_retail_registry().openai_schemas() == reference


def test_unknown_tool_lookup_names_the_known_ones() -> None:
    with pytest.raises(Exception, match="known tools: calculate"):
        build_retail_registry().get("nope")


def test_langchain_tools_run_through_the_registry(demo_factory: sessionmaker[Session]) -> None:
    registry = build_retail_registry()
    lc_tools = {
        t.name: t
        for t in as_langchain_tools(
            registry, lambda: ToolContext(session_factory=demo_factory, run_id="react-1")
        )
    }
    assert set(lc_tools) == set(registry.names)
    # the call id is injected by LangChain, never asked of the model
    visible = lc_tools["cancel_pending_order"].tool_call_schema
    assert isinstance(visible, type) and issubclass(visible, BaseModel)
    assert set(visible.model_json_schema()["properties"]) == {"order_id", "reason"}

    calc = lc_tools["calculate"].invoke(
        {"name": "calculate", "args": {"expression": "1 + 2"}, "id": "t1", "type": "tool_call"}
    )
    assert isinstance(calc, ToolMessage)
    assert calc.content == "3.0" and calc.tool_call_id == "t1"

    with demo_factory() as session:
        db = export_tau2_db(session)
    order_id = next(o for o, r in db["orders"].items() if r["status"] == "pending")
    call = {
        "name": "cancel_pending_order",
        "args": {"order_id": order_id, "reason": "ordered by mistake"},
        "id": "t2",
        "type": "tool_call",
    }
    first = lc_tools["cancel_pending_order"].invoke(call)
    assert json.loads(first.content)["status"] == "cancelled"
    again = lc_tools["cancel_pending_order"].invoke(call)  # replayed, not refused
    assert again.content == first.content
    missing = lc_tools["get_order_details"].invoke(
        {"name": "get_order_details", "args": {"order_id": "#W0"}, "id": "t3", "type": "tool_call"}
    )
    assert missing.content == "Error: Order not found"
