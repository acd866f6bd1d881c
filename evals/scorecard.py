"""Scorecards: pass rate with a 95% Wilson interval, evaluator means, latency, cost, failures.

Written as JSON (the machine-readable record, also what a baseline is made from) and Markdown,
and printed as a rich table.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table
from waypost.evals.runner import CaseResult
from waypost.runtime.errors import RoutedToCode

__all__ = [
    "CaseSummary",
    "Scorecard",
    "build_scorecard",
    "percentile",
    "print_scorecard",
    "wilson_interval",
    "write_scorecard",
]


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% by default)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 4)


class CaseSummary(BaseModel):
    id: str
    passed: bool
    cause: str | None = None
    status: str | None = None
    latency_s: float = 0.0
    cost_usd: float = 0.0
    tokens: int = 0
    tags: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    details: dict[str, str] = Field(default_factory=dict)
    error: str | None = None
    reply_addendum: str | None = None
    executed: list[dict[str, Any]] = Field(default_factory=list)
    model_errors: int = 0  # model steps that failed and degraded to the code path
    # which model served each model step and why ("plan=local:... (cascade:...)")
    routes: list[str] = Field(default_factory=list)


class Scorecard(BaseModel):
    """The result of one eval run."""

    workflow: str
    dataset: str
    model: str
    approvals: str
    # the assistant (and its version) whose configuration the eval ran with, when it ran one
    assistant_id: str | None = None
    assistant_version: int | None = None
    # the step assignment the run used (``agents.routing`` table JSON) and its sweep name
    routing: dict[str, Any] | None = None
    assignment: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    wall_s: float = 0.0
    n: int
    passed: int
    pass_rate: float
    ci95: tuple[float, float]
    metrics: dict[str, float]
    failures_by_cause: dict[str, list[str]]
    cases: list[CaseSummary]

    def case_passed(self) -> dict[str, bool]:
        return {c.id: c.passed for c in self.cases}


def _summary(r: CaseResult) -> CaseSummary:
    cost = r.score("cost_usd")
    tokens = sum(s.input_tokens + s.output_tokens for s in r.record.steps)
    return CaseSummary(
        id=r.case_id,
        passed=r.passed,
        cause=r.cause,
        status=r.record.status,
        latency_s=r.latency_s,
        cost_usd=cost.value if cost else 0.0,
        tokens=tokens,
        tags=r.tags,
        scores={s.name: s.value for s in r.scores},
        details={s.name: s.detail for s in r.scores if s.detail and s.passed is False},
        error=r.record.error,
        reply_addendum=r.record.reply_addendum,
        executed=[c.model_dump() for c in r.record.executed],
        # a step routed to code answered as routed: not a model error
        model_errors=sum(s.error_code not in (None, RoutedToCode.code) for s in r.record.steps),
        routes=[
            f"{s.step}={s.model}" + (f" ({s.route_reason})" if s.route_reason else "")
            for s in r.record.steps
            if s.model
        ],
    )


def build_scorecard(
    results: Sequence[CaseResult],
    *,
    workflow: str,
    dataset: str,
    model: str,
    approvals: str,
    wall_s: float,
    assistant_id: str | None = None,
    assistant_version: int | None = None,
    routing: dict[str, Any] | None = None,
    assignment: str | None = None,
) -> Scorecard:
    """Aggregate case results into a scorecard."""
    cases = [_summary(r) for r in results]
    n, passed = len(cases), sum(c.passed for c in cases)
    names = sorted({name for c in cases for name in c.scores})
    metrics: dict[str, float] = {"pass_rate": round(passed / n, 4) if n else 0.0}
    for name in names:
        values = [c.scores[name] for c in cases if name in c.scores]
        metrics[f"{name}_mean"] = round(sum(values) / len(values), 4) if values else 0.0
    latencies = [c.latency_s for c in cases]
    total_cost = sum(c.cost_usd for c in cases)
    metrics |= {
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "cost_total_usd": round(total_cost, 6),
        "cost_per_case_usd": round(total_cost / n, 6) if n else 0.0,
        "tokens_total": float(sum(c.tokens for c in cases)),
        "errors": float(sum(c.error is not None for c in cases)),
        "errors_in_model_steps": float(sum(c.model_errors for c in cases)),
        # model steps a fallback or a cascade moved to a later model of their route
        "escalated_steps": float(
            sum(" (cascade:" in r or " (fallback:" in r for c in cases for r in c.routes)
        ),
    }
    causes: dict[str, list[str]] = defaultdict(list)
    for c in cases:
        if not c.passed:
            causes[c.cause or "unknown"].append(c.id)
    return Scorecard(
        workflow=workflow,
        dataset=dataset,
        model=model,
        approvals=approvals,
        assistant_id=assistant_id,
        assistant_version=assistant_version,
        routing=routing,
        assignment=assignment,
        wall_s=round(wall_s, 2),
        n=n,
        passed=passed,
        pass_rate=metrics["pass_rate"],
        ci95=wilson_interval(passed, n),
        metrics=metrics,
        failures_by_cause=dict(causes),
        cases=cases,
    )


def to_markdown(card: Scorecard) -> str:
    lo, hi = card.ci95
    lines = [
        f"# Eval scorecard: {card.workflow} on {card.dataset}",
        "",
        f"- model: `{card.model}`, approvals: `{card.approvals}`, "
        f"created {card.created_at:%Y-%m-%d %H:%M} UTC",
        f"- **pass rate {card.passed}/{card.n} = {card.pass_rate:.1%}** (95% Wilson CI "
        f"{lo:.1%}-{hi:.1%}), wall time {card.wall_s:.1f} s",
        *(
            [
                f"- routing{f' `{card.assignment}`' if card.assignment else ''}: "
                f"`{json.dumps(card.routing, separators=(',', ':'))}`"
            ]
            if card.routing
            else []
        ),
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:g} |" for k, v in card.metrics.items()],
        "",
        "## Failures by cause",
        "",
        *(
            [
                f"- `{cause}` ({len(ids)}): {', '.join(ids)}"
                for cause, ids in sorted(card.failures_by_cause.items())
            ]
            or ["None."]
        ),
        "",
        "## Cases",
        "",
        "| case | pass | cause | status | latency s | USD |",
        "|---|---|---|---|---|---|",
        *[
            f"| {c.id} | {'yes' if c.passed else 'NO'} | {c.cause or ''} | {c.status or ''} | "
            f"{c.latency_s:.2f} | {c.cost_usd:g} |"
            for c in card.cases
        ],
        "",
    ]
    return "\n".join(lines)


def write_scorecard(card: Scorecard, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md`` under ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = "".join(ch if ch.isalnum() else "_" for ch in Path(card.dataset).stem)
    stem = f"{card.workflow}-{dataset}-{card.created_at:%Y%m%dT%H%M%S}"
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(card.model_dump_json(indent=2), encoding="utf-8")
    md_path.write_text(to_markdown(card), encoding="utf-8")
    return json_path, md_path


def print_scorecard(card: Scorecard, console: Console) -> None:
    lo, hi = card.ci95
    table = Table(title=f"{card.workflow} · {card.dataset} · {card.model}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row(
        "pass rate", f"{card.passed}/{card.n} = {card.pass_rate:.1%} [{lo:.1%}, {hi:.1%}]"
    )
    for key, value in card.metrics.items():
        if key != "pass_rate":
            table.add_row(key, f"{value:g}")
    table.add_row("wall time s", f"{card.wall_s:.1f}")
    console.print(table)
    for cause, ids in sorted(card.failures_by_cause.items()):
        shown = ", ".join(ids[:8]) + (" ..." if len(ids) > 8 else "")
        console.print(f"[red]failed[/red] {cause} ({len(ids)}): {shown}")


def metric(card: Scorecard | dict[str, Any], name: str) -> float | None:
    data = card.metrics if isinstance(card, Scorecard) else card.get("metrics", {})
    value = data.get(name)
    return float(value) if value is not None else None
