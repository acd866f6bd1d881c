"""Dashboard figures are exact aggregates on SQLite and PostgreSQL alike (nearest-rank
percentiles, time buckets, JSON error codes), scoped to a tenant unless an admin asks for all.
Views of 7 days and more read per-call figures from the daily usage roll-up: counts, tokens and
USD the same, per-step percentiles within the histogram's bound."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from waypost.evals.persist import EvalScorecardRow
from waypost.observability.ledger import LedgerEntry
from waypost.runtime.db import make_async_engine, make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings
from waypost.runtime.usage_rollup import RELATIVE_ERROR, rebuild
from waypost.server.dashboards import Dashboards, time_range
from waypost.server.models import Approval, Run, Thread

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _run(tenant: str, workflow: str, seconds: float | None, status: str, **extra: Any) -> dict:
    created = extra.pop("created", NOW - dt.timedelta(minutes=30))
    started = created + dt.timedelta(seconds=1)
    return {
        "run_id": str(uuid.uuid4()),
        "thread_id": extra.pop("thread_id"),
        "assistant_id": workflow,
        "graph_id": workflow,
        "tenant": tenant,
        "status": status,
        "config": {},
        "kwargs": {},
        "metadata": {},
        "multitask_strategy": "reject",
        "attempt": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "usd": 0.0,
        "created_at": created,
        "updated_at": created,
        "started_at": started if seconds is not None else None,
        "finished_at": started + dt.timedelta(seconds=seconds) if seconds is not None else None,
        **extra,
    }


def seed(url: str) -> None:
    from waypost.graphs.plugins import migrate

    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    with make_session_factory(engine)() as session, session.begin():
        threads = {t: str(uuid.uuid4()) for t in ("acme", "globex")}
        session.execute(
            insert(Thread),
            [
                {"thread_id": th, "tenant": t, "status": "idle", "metadata": {}}
                for t, th in threads.items()
            ],
        )
        acme, globex = threads["acme"], threads["globex"]
        runs = [_run("acme", "w1", s, "success", thread_id=acme) for s in range(1, 21)]
        runs += [_run("acme", "w2", s, "success", thread_id=acme) for s in (2, 4, 6, 8)]
        runs += [
            _run("acme", "w1", 1, "error", thread_id=acme, error={"error": "ModelTimeout"}),
            _run("acme", "w1", 1, "error", thread_id=acme, error={"error": "ModelTimeout"}),
            _run("acme", "w1", 1, "error", thread_id=acme, error={"error": "ToolError"}),
            _run("acme", "w1", None, "pending", thread_id=acme),
            _run("acme", "w1", None, "running", thread_id=acme),
            _run("acme", "w1", 999, "success", thread_id=acme, created=NOW - dt.timedelta(days=8)),
        ]
        runs += [_run("globex", "w1", 50, "success", thread_id=globex) for _ in range(5)]
        session.execute(insert(Run), runs)
        ledger = [
            {
                "kind": "llm",
                "run_id": runs[0]["run_id"],
                "thread_id": acme,
                "tenant": "acme",
                "workflow": "w1",
                "node": "plan",
                "name": "m1",
                "input_tokens": 6,
                "output_tokens": 4,
                "usd": 0.01,
                "latency_ms": float(ms),
                "status": "ok",
                "created_at": NOW - dt.timedelta(minutes=20),
            }
            for ms in range(100, 1001, 100)
        ]
        ledger += [
            {
                **ledger[0],
                "kind": "tool",
                "name": "refund",
                "node": "act",
                "status": "error",
                "error_code": "tool_terminal",
                "input_tokens": 0,
                "output_tokens": 0,
                "usd": 0.0,
            }
        ]
        ledger += [{**ledger[0], "tenant": "globex", "thread_id": globex, "usd": 5.0}]
        session.execute(insert(LedgerEntry), ledger)
        approvals = [
            {
                "id": str(uuid.uuid4()),
                "run_id": runs[0]["run_id"],
                "thread_id": acme,
                "tenant": "acme",
                "workflow": "w1",
                "status": "approved",
                "payload": {},
                "created_at": NOW - dt.timedelta(minutes=10),
                "decided_at": NOW - dt.timedelta(minutes=10) + dt.timedelta(seconds=wait),
            }
            for wait in (10, 20, 30, 40)
        ]
        approvals.append(
            {**approvals[0], "id": str(uuid.uuid4()), "status": "pending", "decided_at": None}
        )
        session.execute(insert(Approval), approvals)
        cards = [
            {
                "tenant": tenant,
                "workflow": "w1",
                "dataset": "golden",
                "model": "m1",
                "approvals": "auto",
                "n_cases": 10,
                "passed": int(rate * 10),
                "pass_rate": rate,
                "ci_low": 0.0,
                "ci_high": 1.0,
                "wall_s": 1.0,
                "metrics": {},
                "failures": {},
                "cases": [],
                "created_at": NOW - dt.timedelta(hours=hours),
            }
            for tenant, rate, hours in (("acme", 0.5, 3), ("acme", 0.7, 2), ("globex", 0.1, 1))
        ]
        session.execute(insert(EvalScorecardRow), cards)
        rebuild(session.connection())  # the ledger rows went in without LedgerWriter
    engine.dispose()


async def _board(url: str, tenant: str | None, key: str = "7d") -> Any:
    engine = make_async_engine(DatabaseSettings(url=url))
    try:
        return await Dashboards(async_sessionmaker(engine)).build(tenant, time_range(key))
    finally:
        await engine.dispose()


async def test_dashboard_figures_are_exact(database_url: str) -> None:
    seed(database_url)
    board = await _board(database_url, "acme")
    statuses = {r["status"]: r["runs"] for r in board.runs_by_status}
    assert statuses == {"success": 24, "error": 3, "pending": 1, "running": 1}  # 8-day-old left out
    assert board.totals["runs"] == 29 and board.totals["queue_pending"] == 1
    latency = {r["workflow"]: r for r in board.latency_by_workflow}
    assert latency["w1"]["runs"] == 23  # 20 successes and 3 failures, all finished
    # 1, 1, 1, 1, 2, 3 .. 20: the 12th of 23 and the 22nd of 23 (nearest rank)
    assert latency["w1"]["p50_s"] == pytest.approx(9, abs=1e-3)
    assert latency["w1"]["p95_s"] == pytest.approx(19, abs=1e-3)
    assert latency["w2"]["p50_s"] == pytest.approx(4, abs=1e-3)
    assert latency["w2"]["p95_s"] == pytest.approx(8, abs=1e-3)
    steps = {(r["workflow"], r["node"]): r for r in board.latency_by_step}
    plan = steps[("w1", "plan")]  # 7 days: from the roll-up's latency histogram
    assert plan["calls"] == 10 and plan["mean_ms"] == pytest.approx(550)
    assert plan["p50_ms"] == pytest.approx(500, rel=RELATIVE_ERROR)
    assert plan["p95_ms"] == pytest.approx(1000, rel=RELATIVE_ERROR)
    day = {
        (r["workflow"], r["node"]): r
        for r in (await _board(database_url, "acme", "24h")).latency_by_step
    }
    assert (day[("w1", "plan")]["p50_ms"], day[("w1", "plan")]["p95_ms"]) == (500, 1000)  # exact
    assert board.usage_by_tenant == [
        {"tenant": "acme", "tokens": 100, "usd": pytest.approx(0.1), "calls": 10}
    ]
    assert [(m["model"], m["tokens"]) for m in board.usage_by_model] == [("m1", 100)]
    assert len(board.usage_over_time) == 1 and board.usage_over_time[0]["tokens"] == 100
    assert len(board.usage_over_time[0]["bucket"]) == 10  # a day: 7 days are bucketed by day
    wait = board.approval_wait[0]
    assert (wait["decided"], wait["p50_s"], wait["p95_s"]) == (
        4,
        pytest.approx(20, abs=1e-3),
        pytest.approx(40, abs=1e-3),
    )
    assert board.totals["approvals_pending"] == 1
    errors = {e["code"]: e for e in board.errors_by_code}
    assert errors["ModelTimeout"]["runs"] == 2 and errors["ToolError"]["runs"] == 1
    assert errors["tool_terminal"]["calls"] == 1
    assert [c["pass_rate"] for c in board.eval_pass_rate] == [0.5, 0.7]


async def test_dashboards_are_scoped_and_ranged(database_url: str) -> None:
    seed(database_url)
    globex = await _board(database_url, "globex")
    assert globex.totals["runs"] == 5 and globex.totals["approvals_pending"] == 0
    assert (globex.totals["queue_pending"], globex.totals["queue_running"]) == (0, 0)
    assert [c["pass_rate"] for c in globex.eval_pass_rate] == [0.1]
    everyone = await _board(database_url, None)
    assert everyone.totals["runs"] == 34
    assert (everyone.totals["queue_pending"], everyone.totals["queue_running"]) == (1, 1)
    assert {r["tenant"] for r in everyone.usage_by_tenant} == {"acme", "globex"}
    assert everyone.usage_by_tenant[0]["tenant"] == "globex"  # the biggest spender first
    hour = await _board(database_url, "acme", "1h")
    assert hour.range.bucket == "hour" and len(hour.runs_over_time[0]["bucket"]) == 13
    assert [c["pass_rate"] for c in hour.eval_pass_rate] == []  # the cards are older
    month = await _board(database_url, "acme", "30d")
    assert month.totals["runs"] == 30  # now the 8-day-old run counts


async def test_long_views_are_cached_short_ones_are_not(sqlite_url: str) -> None:
    seed(sqlite_url)
    engine = make_async_engine(DatabaseSettings(url=sqlite_url))
    try:
        dashboards = Dashboards(async_sessionmaker(engine), cache_s=60)
        month = await dashboards.get("acme", "30d")
        assert await dashboards.get("acme", "30d") is month
        assert (await dashboards.get("globex", "30d")).totals["runs"] == 5  # per tenant
        day = await dashboards.get("acme", "24h")
        assert await dashboards.get("acme", "24h") is not day
        uncached = Dashboards(async_sessionmaker(engine), cache_s=0)
        assert await uncached.get("acme", "30d") is not await uncached.get("acme", "30d")
    finally:
        await engine.dispose()


async def test_long_views_count_each_ledger_row_once(database_url: str) -> None:
    """The month view reads whole days from the roll-up and the partial first day from the
    ledger: rows just inside the range count once, rows just outside not at all."""
    seed(database_url)
    since = NOW - dt.timedelta(days=30)
    base = {
        "kind": "llm",
        "run_id": "r-edge",
        "tenant": "globex",
        "workflow": "w9",
        "node": "edge",
        "name": "m9",
        "output_tokens": 0,
        "usd": 0.0,
        "latency_ms": 10.0,
        "status": "error",
        "error_code": "edge_case",
    }
    moments = {
        since - dt.timedelta(minutes=5): 1,  # outside
        since + dt.timedelta(minutes=5): 10,
        since + dt.timedelta(hours=25): 100,
        NOW - dt.timedelta(days=10): 1000,
    }
    engine = make_engine(DatabaseSettings(url=database_url))
    with make_session_factory(engine)() as session, session.begin():
        session.execute(
            insert(LedgerEntry),
            [{**base, "input_tokens": t, "created_at": at} for at, t in moments.items()],
        )
        rebuild(session.connection())
    engine.dispose()
    month = await _board(database_url, "globex", "30d")
    model = {m["model"]: m for m in month.usage_by_model}
    assert (model["m9"]["tokens"], model["m9"]["calls"]) == (1110, 3)
    assert sum(b["tokens"] for b in month.usage_over_time) == 1110 + 10  # and the seed's m1 row
    errors = {e["code"]: e["calls"] for e in month.errors_by_code}
    assert errors["edge_case"] == 3
    steps = {(r["workflow"], r["node"]): r for r in month.latency_by_step}
    assert steps[("w9", "edge")]["calls"] == 3
    assert steps[("w9", "edge")]["p50_ms"] == pytest.approx(10, rel=RELATIVE_ERROR)
