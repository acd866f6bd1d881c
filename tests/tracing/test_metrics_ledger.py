"""Prometheus figures, run totals and the state's step usage all agree with the ledger."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from waypost.observability.ledger import LedgerEntry, run_entries, run_totals
from waypost.observability.metrics import WaypostMetrics, metrics_app

from tests.tracing.conftest import MODEL, make_settings, run_cancel_case


def _scrape(metrics: WaypostMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=metrics_app(metrics))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/metrics")

    response = asyncio.run(get())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_metrics_match_the_ledger_after_n_runs(db_factory) -> None:
    n = 3
    metrics = WaypostMetrics()
    settings = make_settings("sqlite://")
    for _ in range(n):
        run_cancel_case(settings, db_factory, metrics=metrics, reset_store=True)
    got = _scrape(metrics)
    wf = ("workflow", "retail_support")

    with db_factory() as session:
        tin, tout, usd, calls = session.execute(
            select(
                func.sum(LedgerEntry.input_tokens),
                func.sum(LedgerEntry.output_tokens),
                func.sum(LedgerEntry.usd),
                func.count(),
            ).where(LedgerEntry.kind == "llm", LedgerEntry.name == MODEL)
        ).one()
        tools = dict(
            session.execute(
                select(LedgerEntry.name, func.count())
                .where(LedgerEntry.kind == "tool")
                .group_by(LedgerEntry.name)
            ).all()
        )

    model = ("model", MODEL)
    assert got[("waypost_llm_tokens_total", (("direction", "input"), model, wf))] == tin
    assert got[("waypost_llm_tokens_total", (("direction", "output"), model, wf))] == tout
    assert abs(got[("waypost_llm_cost_usd_total", (model, wf))] - usd) < 1e-12 and usd > 0
    assert got[("waypost_llm_calls_total", (model, ("status", "ok"), wf))] == calls == 2 * n
    scraped_tools = {
        dict(k[1])["tool"]: v for k, v in got.items() if k[0] == "waypost_tool_calls_total"
    }
    assert scraped_tools == tools
    assert got[("waypost_runs_started_total", (wf,))] == 2 * n  # first run + resume, each
    assert got[("waypost_runs_finished_total", (("status", "interrupted"), wf))] == n
    assert got[("waypost_runs_finished_total", (("status", "success"), wf))] == n
    # every node ran once per case, approve twice (pause, then after the action)
    step_counts = defaultdict(float)
    for (name, labels), value in got.items():
        if name == "waypost_step_latency_seconds_count":
            step_counts[dict(labels)["node"]] = value
    assert step_counts["intake"] == step_counts["execute"] == n
    assert step_counts["approve"] == 3 * n


def test_ledger_rows_equal_the_state_step_usage(db_factory) -> None:
    result = run_cancel_case(make_settings("sqlite://"), db_factory)
    steps = [
        (s["step"], s["model"], s["input_tokens"], s["output_tokens"])
        for s in result.state["steps"]
        if s.get("model")
    ]
    with db_factory() as session:
        rows = run_entries(session, result.run_key)
        totals = run_totals(session, result.run_key)
    llm = [(r.node, r.name, r.input_tokens, r.output_tokens) for r in rows if r.kind == "llm"]
    assert llm == steps
    assert all(r.thread_id == result.thread_id and r.workflow == "retail_support" for r in rows)
    assert next(r.name for r in rows if r.kind == "tool" and r.node == "execute") == (
        "cancel_pending_order"
    )
    assert totals.llm_calls == 2 and totals.tool_calls == len(rows) - 2
    assert totals.input_tokens == sum(s[2] for s in steps)
    assert totals.output_tokens == sum(s[3] for s in steps)
    assert totals.usd == sum(r.usd for r in rows) > 0 and totals.all_priced
