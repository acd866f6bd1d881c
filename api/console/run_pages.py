"""Runs (a filtered list and one run's timeline) and the dashboard.

Charts are described here as small JSON specs (``type``, ``labels``, ``datasets``, unit) that
``console.js`` hands to Chart.js; the same figures are printed in tables under each chart so
the page reads without scripts too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from waypost.api.console.web import Page, render
from waypost.api.deps import AppServices
from waypost.runtime.errors import NotFound
from waypost.server.dashboards import RANGES, Dashboard, Dashboards, time_range
from waypost.server.run_hook import trace_url_for
from waypost.server.run_views import STATUSES, RunFilter, RunTimeline, RunViews

router = APIRouter(prefix="/console", include_in_schema=False)

_PAGE = 50
_STATUS_COLORS = {
    "success": "#2e7d32",
    "error": "#c62828",
    "interrupted": "#ef6c00",
    "timeout": "#6d4c41",
    "running": "#1565c0",
    "pending": "#78909c",
}


@router.get("/runs")
async def runs_page(
    page: Page,
    services: AppServices,
    workflow: str | None = Query(None, max_length=128),
    status: Literal["pending", "running", "success", "error", "interrupted", "timeout", ""]
    | None = None,
    range: Literal["1h", "24h", "7d", "30d", "90d", "all", ""] | None = None,
    offset: int = Query(0, ge=0, le=100_000),
) -> Response:
    span = time_range(range) if range and range != "all" else None
    flt = RunFilter(
        workflow=workflow or None,
        status=status or None,
        since=span.since if span else None,
    )
    found = await RunViews(services.queue.sessions).list(
        page.user.tenant, flt, limit=_PAGE, offset=offset
    )
    workflows = sorted({*services.registry.names(), *([workflow] if workflow else [])})
    return render(
        page,
        "runs.html",
        nav="runs",
        found=found,
        workflows=workflows,
        flt=flt,
        range_key=range or "all",
        ranges=[*RANGES, "all"],
        statuses=STATUSES,
        offset=offset,
        page_size=_PAGE,
    )


def _timeline_chart(timeline: RunTimeline) -> dict[str, Any]:
    labels, bars, colors = [], [], []
    for i, step in enumerate(timeline.steps, 1):
        labels.append(f"{i}. {step.node or '-'} · {step.name}")
        start = round(step.start_s * 1000, 1)
        bars.append([start, round(start + max(step.latency_ms, 0.5), 1)])
        if step.status == "error":
            colors.append("#c62828")
        else:
            colors.append("#5c6bc0" if step.kind == "llm" else "#26a69a")
    return {
        "type": "bar",
        "horizontal": True,
        "labels": labels,
        "datasets": [{"label": "ms from run start", "data": bars, "colors": colors}],
        "unit": "ms",
    }


@router.get("/runs/{run_id}")
async def run_page(run_id: str, page: Page, services: AppServices) -> Response:
    timeline = await RunViews(services.queue.sessions).timeline(page.user.tenant, run_id)
    if timeline is None:
        raise NotFound(f"run {run_id} not found")
    run = timeline.run
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = (run.finished_at - run.started_at).total_seconds()
    return render(
        page,
        "run.html",
        nav="runs",
        t=timeline,
        run=run,
        duration=duration,
        chart=_timeline_chart(timeline),
        trace_url=trace_url_for(services.settings, run.thread_id),
    )


def _charts(board: Dashboard) -> dict[str, dict[str, Any]]:
    """Chart.js specs for the dashboard's figures."""
    buckets = sorted({r["bucket"] for r in board.runs_over_time})
    per_status: dict[str, dict[str, int]] = defaultdict(dict)
    for r in board.runs_over_time:
        per_status[r["status"]][r["bucket"]] = r["runs"]
    steps = board.latency_by_step[:20]
    evals: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in board.eval_pass_rate:
        evals[f"{card['workflow']} · {card['dataset']} · {card['model']}"].append(card)
    eval_labels = sorted({_day(c["at"]) for c in board.eval_pass_rate})
    return {
        "runs_over_time": {
            "type": "bar",
            "stacked": True,
            "labels": buckets,
            "datasets": [
                {
                    "label": s,
                    "data": [per_status[s].get(b, 0) for b in buckets],
                    "color": _STATUS_COLORS.get(s, "#90a4ae"),
                }
                for s in sorted(per_status)
            ],
            "unit": "runs",
        },
        "runs_by_status": {
            "type": "doughnut",
            "labels": [r["status"] for r in board.runs_by_status],
            "datasets": [
                {
                    "label": "runs",
                    "data": [r["runs"] for r in board.runs_by_status],
                    "colors": [
                        _STATUS_COLORS.get(r["status"], "#90a4ae") for r in board.runs_by_status
                    ],
                }
            ],
        },
        "latency_by_workflow": {
            "type": "bar",
            "labels": [r["workflow"] for r in board.latency_by_workflow],
            "datasets": [
                {"label": "p50", "data": [_r(r["p50_s"]) for r in board.latency_by_workflow]},
                {"label": "p95", "data": [_r(r["p95_s"]) for r in board.latency_by_workflow]},
            ],
            "unit": "s",
        },
        "latency_by_step": {
            "type": "bar",
            "horizontal": True,
            "labels": [f"{r['workflow']} · {r['node']}" for r in steps],
            "datasets": [
                {"label": "p50", "data": [_r(r["p50_ms"]) for r in steps]},
                {"label": "p95", "data": [_r(r["p95_ms"]) for r in steps]},
            ],
            "unit": "ms",
        },
        "usage_over_time": {
            "type": "bar",
            "labels": [r["bucket"] for r in board.usage_over_time],
            "datasets": [
                {"label": "tokens", "data": [r["tokens"] for r in board.usage_over_time]},
                {
                    "label": "USD",
                    "data": [round(r["usd"], 6) for r in board.usage_over_time],
                    "axis": "y2",
                    "kind": "line",
                },
            ],
            "unit": "tokens",
        },
        "usage_by_model": {
            "type": "bar",
            "horizontal": True,
            "labels": [r["model"] for r in board.usage_by_model],
            "datasets": [{"label": "tokens", "data": [r["tokens"] for r in board.usage_by_model]}],
            "unit": "tokens",
        },
        "usage_by_tenant": {
            "type": "bar",
            "horizontal": True,
            "labels": [r["tenant"] for r in board.usage_by_tenant],
            "datasets": [
                {"label": "USD", "data": [round(r["usd"], 6) for r in board.usage_by_tenant]}
            ],
            "unit": "USD",
        },
        "approval_wait": {
            "type": "bar",
            "labels": [r["workflow"] for r in board.approval_wait],
            "datasets": [
                {"label": "p50", "data": [_r(r["p50_s"]) for r in board.approval_wait]},
                {"label": "p95", "data": [_r(r["p95_s"]) for r in board.approval_wait]},
            ],
            "unit": "s",
        },
        "errors_by_code": {
            "type": "bar",
            "horizontal": True,
            "stacked": True,
            "labels": [e["code"] for e in board.errors_by_code],
            "datasets": [
                {
                    "label": "runs",
                    "data": [e["runs"] for e in board.errors_by_code],
                    "color": "#c62828",
                },
                {
                    "label": "calls",
                    "data": [e["calls"] for e in board.errors_by_code],
                    "color": "#ef9a9a",
                },
            ],
            "unit": "count",
        },
        "eval_pass_rate": {
            "type": "line",
            "labels": eval_labels,
            "datasets": [
                {
                    "label": name,
                    "data": [_last_on(cards, day) for day in eval_labels],
                }
                for name, cards in sorted(evals.items())
            ],
            "unit": "pass rate",
            "max": 1,
        },
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _day(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _last_on(cards: list[dict[str, Any]], label: str) -> float | None:
    """A series' last pass rate of a day (cards come oldest first)."""
    found = [c["pass_rate"] for c in cards if _day(c["at"]) == label]
    return found[-1] if found else None


@router.get("/dashboard")
async def dashboard_page(
    page: Page,
    services: AppServices,
    range: Literal["1h", "24h", "7d", "30d", "90d", ""] | None = None,
    scope: Literal["tenant", "all", ""] | None = None,
) -> Response:
    """Figures of the caller's tenant; an admin may choose every tenant (``scope=all``)."""
    who = page.user
    everyone = scope == "all" and who.operates_deployment
    dashboards = services.extras.get("console.dashboards")
    if dashboards is None:  # one per process: it holds the cache of long views
        dashboards = Dashboards(services.queue.sessions, services.settings.api.console_cache_s)
        services.extras["console.dashboards"] = dashboards
    board = await dashboards.get(None if everyone else who.tenant, range or None)
    return render(
        page,
        "dashboard.html",
        nav="dashboard",
        board=board,
        charts=_charts(board),
        ranges=list(RANGES),
        scope="all" if everyone else "tenant",
        may_see_all=who.operates_deployment,
    )
