"""The retail workflow end to end over HTTP: typed endpoint, approval decision, run summary,
ledger and /metrics, with the scripted model on the tiny store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from waypost.domains.retail.tools import export_tau2_db
from waypost.observability.ledger import LedgerEntry

from tests.api.retail_server import serve_retail_cancel
from tests.graphs.conftest import CANCEL_MESSAGE


@pytest.fixture
def retail_server(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with serve_retail_cancel(tmp_path / "waypost.api.db") as served:
        yield served


async def test_retail_case_pauses_for_approval_and_completes_after_decision(
    retail_server: tuple[str, Any],
) -> None:
    base, factory = retail_server
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        paused = await http.post("/workflows/retail_support/runs", json={"message": CANCEL_MESSAGE})
        assert paused.status_code == 200, paused.text
        body = paused.json()
        assert body["status"] == "interrupted"
        approval = body["approval"]
        assert approval["payload"]["tool"] == "cancel_pending_order"
        assert approval["payload"]["arguments"]["order_id"] == "#W0000001"

        pending = (await http.get("/approvals", params={"status": "pending"})).json()
        assert [a["id"] for a in pending] == [approval["id"]]
        waiting = (await http.get("/metrics")).text
        assert 'waypost_pending_approvals{workflow="retail_support"} 1.0' in waiting
        decided = await http.post(
            f"/approvals/{approval['id']}/decision",
            json={"decision": "approve", "decided_by": "reviewer-7"},
        )
        assert decided.status_code in (200, 202), decided.text
        again = await http.post(
            f"/approvals/{approval['id']}/decision", json={"decision": "approve"}
        )
        assert again.status_code == 409

        thread_id = body["thread_id"]
        final = (await http.get(f"/threads/{thread_id}/runs")).json()
        resume_id = next(r["run_id"] for r in final if r["run_id"] != body["run_id"])
        await http.get(f"/threads/{thread_id}/runs/{resume_id}/join")
        state = (await http.get(f"/threads/{thread_id}/state")).json()
        assert state["values"]["status"] == "completed"
        assert "cancel order #W0000001" in state["values"]["reply"]

        summary = (await http.get(f"/runs/{body['run_id']}")).json()
        assert summary["input_tokens"] > 0 and summary["workflow"] == "retail_support"
        assert summary["trace_url"] is None  # Langfuse not configured

        metrics = (await http.get("/metrics")).text
        assert "waypost_runs_finished_total" in metrics
        assert 'waypost_pending_approvals{workflow="retail_support"} 0.0' in metrics
        assert "waypost_queue_depth 0.0" in metrics
        assert "waypost_queue_claim_latency_seconds_count" in metrics

    with factory() as session:
        assert export_tau2_db(session)["orders"]["#W0000001"]["status"] == "cancelled"
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.thread_id == thread_id)).all()
    llm = [r for r in rows if r.kind == "llm"]
    assert {r.node for r in llm} == {"intake", "plan"}
    assert sum(r.input_tokens for r in llm if r.run_id == body["run_id"]) == summary["input_tokens"]
    assert any(r.kind == "tool" and r.name == "cancel_pending_order" for r in rows)
