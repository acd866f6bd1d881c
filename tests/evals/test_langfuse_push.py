"""Pushing an eval run to Langfuse's public API (recorded by a mock transport)."""

from __future__ import annotations

import json

import httpx
from pydantic import SecretStr
from waypost.evals.evaluators import Score
from waypost.evals.langfuse_push import push_from_settings
from waypost.evals.record import CaseRecord
from waypost.evals.runner import CaseResult
from waypost.evals.scorecard import build_scorecard
from waypost.runtime.settings import LangfuseSettings


def test_push_sends_dataset_items_traces_scores_and_run_links(smoke_cases) -> None:
    cases = smoke_cases[:2]
    results = [
        CaseResult(
            case_id=c.id,
            passed=i == 0,
            cause=None if i == 0 else "db_state",
            record=CaseRecord(case_id=c.id, reply="Done.", status="completed"),
            scores=[
                Score(name="db_state", value=float(i == 0), passed=i == 0),
                Score(name="trajectory", value=1.0),
            ],
        )
        for i, c in enumerate(cases)
    ]
    card = build_scorecard(
        results,
        workflow="retail_support",
        dataset="smoke",
        model="scripted:gold",
        approvals="case",
        wall_s=1.0,
    )
    seen: list[tuple[str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"].startswith("Basic ")
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json={})

    settings = LangfuseSettings(
        public_key="pk-lf-test",
        secret_key=SecretStr("sk-lf-test"),
        base_url="http://langfuse.local",
    )
    run = push_from_settings(settings, card, cases, results, transport=httpx.MockTransport(handler))
    assert run is not None and run.startswith("scripted:gold")
    paths = [p for p, _ in seen]
    assert paths[0] == "/api/public/datasets"
    assert paths.count("/api/public/dataset-items") == 2
    assert paths.count("/api/public/dataset-run-items") == 2
    batch = next(body for p, body in seen if p == "/api/public/ingestion")["batch"]
    scores = {(e["body"]["name"], e["body"]["value"]) for e in batch if e["type"] == "score-create"}
    assert ("passed", 1.0) in scores and ("passed", 0.0) in scores
    assert not any(name == "trajectory" for name, _ in scores)  # diagnostics stay local
    assert sum(e["type"] == "trace-create" for e in batch) == 2


def test_push_is_skipped_when_langfuse_is_not_configured(smoke_cases) -> None:
    card = build_scorecard([], workflow="w", dataset="d", model="m", approvals="case", wall_s=0)
    assert push_from_settings(LangfuseSettings(), card, smoke_cases, []) is None
