"""API runs are traced like CLI runs: one trace per thread across the approval, with the
reviewer's decision, and the run summary links to it."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from waypost.api.app import create_app
from waypost.domains.retail.tools import load_tau2_db
from waypost.domains.retail.workflow import build as build_retail
from waypost.domains.retail.workflow import retail_support_spec
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphDeps, GraphRegistry
from waypost.observability.tracing import close_tracing, trace_id_for
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings, Settings, WorkerSettings
from waypost.server.identity import IdentityStore

from tests.api.server import serve
from tests.graphs.conftest import CANCEL_MESSAGE, TINY_DB
from tests.tracing.conftest import langfuse_for, scripted_model


async def test_api_run_and_resume_share_one_trace_with_the_decision(
    receiver: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'waypost.api.db'}"
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=url),
        worker=WorkerSettings(concurrency=2, heartbeat_s=2, lease_s=10),
        langfuse=langfuse_for(receiver),
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = make_engine(settings.database)
    migrate(engine)
    load_tau2_db(make_session_factory(engine), copy.deepcopy(TINY_DB))
    identities = IdentityStore(make_session_factory(engine))
    operator = identities.create_key("default", "operator", name="op-1").key
    reviewer = identities.create_key("default", "reviewer", name="reviewer-7").key
    model = scripted_model()

    def build(deps: GraphDeps) -> Any:
        return build_retail(replace(deps, model_factory=lambda _name: model))

    registry = GraphRegistry()
    registry.register(replace(retail_support_spec(), build=build))
    with serve(create_app(settings, registry)) as base:
        async with httpx.AsyncClient(
            base_url=base, timeout=30, headers={"x-api-key": operator}
        ) as http:
            body = (
                await http.post("/workflows/retail_support/runs", json={"message": CANCEL_MESSAGE})
            ).json()
            approval_id = body["approval"]["id"]
            decided = await http.post(
                f"/approvals/{approval_id}/decision",
                # the decider is the key's holder, whatever the body claims
                json={"decision": "approve", "decided_by": "someone-else"},
                headers={"x-api-key": reviewer},
            )
            assert decided.status_code == 200, decided.text
            thread_id = body["thread_id"]
            runs = (await http.get(f"/threads/{thread_id}/runs")).json()
            resume = next(r["run_id"] for r in runs if r["run_id"] != body["run_id"])
            await http.get(f"/threads/{thread_id}/runs/{resume}/join")
            summary = (await http.get(f"/runs/{body['run_id']}")).json()
    engine.dispose()
    close_tracing(5.0)

    trace_id = trace_id_for(thread_id)
    assert summary["trace_url"] == f"{receiver.base_url}/trace/{trace_id}"
    spans = receiver.spans
    assert spans and {s.trace_id for s in spans} == {trace_id}
    assert any(s.type == "generation" for s in spans)
    decided = next(s for s in spans if s.name == "approval approve")
    assert "reviewer-7" in str(decided.attributes)
    assert "someone-else" not in str(decided.attributes)
