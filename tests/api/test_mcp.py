"""Workflows as MCP tools: the official ``mcp`` client over streamable HTTP at ``/mcp`` lists
them, calls them, and sees a pending approval returned (then decides it) instead of a hang."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk.client import LangGraphClient
from mcp import Client
from waypost.domains.retail.tools import export_tau2_db

from tests.api.retail_server import serve_retail_cancel
from tests.graphs.conftest import CANCEL_MESSAGE


async def test_workflows_are_tools_and_approvals_come_back(
    server_url: str, sdk: LangGraphClient
) -> None:
    custom = await sdk.assistants.create("routed", name="Router v2", description="routes")
    async with Client(f"{server_url}/mcp") as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert {"three_step", "approval", "routed", "decide_approval"} <= set(listed)
        assert f"Router_v2-{custom['assistant_id'][:8]}" in listed
        steps = listed["three_step"]
        assert steps.input_schema["properties"]["topic"]["type"] == "string"
        assert steps.input_schema["required"] == ["topic"]

        done = await client.call_tool("three_step", {"topic": "mcp"})
        assert done.is_error is False
        assert done.structured_content is not None
        assert done.structured_content["status"] == "success"
        assert done.structured_content["output"] == {
            "topic": "mcp",
            "steps": ["first", "second", "third"],
        }

        paused = await client.call_tool("approval", {"order_id": "O1"})
        body = paused.structured_content
        assert paused.is_error is False and body is not None
        assert body["status"] == "interrupted"
        approval = body["approval"]
        assert approval["tool"] == "cancel_order"
        assert approval["arguments"] == {"order_id": "O1", "reason": "no longer needed"}
        assert approval["why"] == "cancelling an order cannot be undone"
        assert "decide_approval" in approval["how_to_decide"]
        assert (await sdk.threads.get(body["thread_id"]))["status"] == "interrupted"

        edited = await client.call_tool(
            "decide_approval",
            {
                "approval_id": approval["approval_id"],
                "decision": "edit",
                "arguments": {"order_id": "O7"},
            },
        )
        assert edited.structured_content is not None
        assert edited.structured_content["status"] == "success"
        assert edited.structured_content["output"]["outcome"] == "cancelled O7"
        again = await client.call_tool(
            "decide_approval", {"approval_id": approval["approval_id"], "decision": "approve"}
        )
        assert again.is_error is True and "conflict" in again.content[0].text  # type: ignore[union-attr]

        routed = await client.call_tool(listed[f"Router_v2-{custom['assistant_id'][:8]}"].name, {})
        assert routed.structured_content is not None
        assert routed.structured_content["output"]["answered_by"] == "default-model"

        bad = await client.call_tool("three_step", {"wrong": 1})
        assert bad.is_error is True and "invalid_input" in bad.content[0].text  # type: ignore[union-attr]
        unknown = await client.call_tool("nope", {})
        assert unknown.is_error is True


@pytest.fixture
def retail_url(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with serve_retail_cancel(tmp_path / "waypost.mcp.db") as served:
        yield served


async def test_retail_workflow_over_mcp_stops_at_the_approval(
    retail_url: tuple[str, Any],
) -> None:
    base, factory = retail_url
    async with Client(f"{base}/mcp") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "message" in tools["retail_support"].input_schema["properties"]
        paused = await client.call_tool("retail_support", {"message": CANCEL_MESSAGE})
        body = paused.structured_content
        assert body is not None and body["status"] == "interrupted"
        approval = body["approval"]
        assert approval["tool"] == "cancel_pending_order"
        assert approval["arguments"]["order_id"] == "#W0000001"
        with factory() as session:  # nothing was cancelled before the decision
            assert export_tau2_db(session)["orders"]["#W0000001"]["status"] == "pending"

        decided = await client.call_tool(
            "decide_approval", {"approval_id": approval["approval_id"], "decision": "approve"}
        )
        result = decided.structured_content
        assert result is not None and result["status"] == "success", result
        assert "cancel order #W0000001" in result["output"]["reply"]
    with factory() as session:
        assert export_tau2_db(session)["orders"]["#W0000001"]["status"] == "cancelled"
