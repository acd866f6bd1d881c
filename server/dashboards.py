"""The console's dashboard figures, each one SQL aggregate that runs on SQLite and PostgreSQL.

Sources: the ``runs`` table (status, duration, queue), the usage ledger (per-call latency,
tokens, USD, error codes), ``approvals`` (waiting time) and ``eval_scorecards`` (pass rate over
time). A ``scope`` is one tenant, or ``None`` for every tenant (the console offers that to
admins only). Percentiles are nearest-rank over window functions (``runtime.sqlfuncs``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Select,
    String,
    case,
    column,
    func,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from waypost.observability.ledger import LedgerEntry
from waypost.runtime.sqlfuncs import (
    Bucket,
    json_text,
    percentile_rank,
    seconds_between,
    time_bucket,
)
from waypost.server.models import Approval, Run

__all__ = ["RANGES", "Dashboard", "Dashboards", "TimeRange", "time_range"]

RANGES: dict[str, dt.timedelta] = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
}

# ``eval_scorecards`` belongs to evals, which sits above the server; read it as a plain table.
_SCORECARDS = table(
    "eval_scorecards",
    column("tenant", String),
    column("workflow", String),
    column("dataset", String),
    column("model", String),
    column("pass_rate", Float),
    column("created_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class TimeRange:
    key: str
    since: dt.datetime
    until: dt.datetime

    @property
    def bucket(self) -> Bucket:
        return "hour" if self.until - self.since <= dt.timedelta(hours=48) else "day"


def time_range(key: str | None, now: dt.datetime | None = None) -> TimeRange:
    """The range named ``key`` (one of ``RANGES``, default 7 days) ending now."""
    key = key if key in RANGES else "7d"
    now = now or dt.datetime.now(dt.UTC)
    return TimeRange(key, now - RANGES[key], now)


@dataclass
class Dashboard:
    range: TimeRange
    tenant: str | None
    totals: dict[str, Any] = field(default_factory=dict)
    runs_by_status: list[dict[str, Any]] = field(default_factory=list)
    runs_over_time: list[dict[str, Any]] = field(default_factory=list)
    latency_by_workflow: list[dict[str, Any]] = field(default_factory=list)
    latency_by_step: list[dict[str, Any]] = field(default_factory=list)
    usage_by_tenant: list[dict[str, Any]] = field(default_factory=list)
    usage_by_model: list[dict[str, Any]] = field(default_factory=list)
    usage_over_time: list[dict[str, Any]] = field(default_factory=list)
    approval_wait: list[dict[str, Any]] = field(default_factory=list)
    errors_by_code: list[dict[str, Any]] = field(default_factory=list)
    eval_pass_rate: list[dict[str, Any]] = field(default_factory=list)


def _percentiles(inner: Any, groups: list[str]) -> Select[Any]:
    """Per group: count, p50, p95 and mean of ``inner.c.v`` (nearest rank)."""
    keys = [inner.c[g] for g in groups]
    ranked = select(
        *keys,
        inner.c.v,
        func.row_number().over(partition_by=keys, order_by=inner.c.v).label("rn"),
        func.count().over(partition_by=keys).label("n"),
    ).subquery()
    rkeys = [ranked.c[g] for g in groups]
    return (
        select(
            *rkeys,
            ranked.c.n,
            func.max(case((percentile_rank(ranked.c.rn, ranked.c.n, 50), ranked.c.v))).label("p50"),
            func.max(case((percentile_rank(ranked.c.rn, ranked.c.n, 95), ranked.c.v))).label("p95"),
            func.avg(ranked.c.v).label("mean"),
        )
        .group_by(*rkeys, ranked.c.n)
        .order_by(*rkeys)
    )


class Dashboards:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def build(self, tenant: str | None, span: TimeRange) -> Dashboard:
        """Every figure of the dashboard for ``tenant`` (None: all tenants) over ``span``."""
        board = Dashboard(range=span, tenant=tenant)
        async with self.sessions() as session:
            await self._runs(session, board)
            await self._latency(session, board)
            await self._usage(session, board)
            await self._approvals(session, board)
            await self._errors(session, board)
            await self._evals(session, board)
        return board

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _scoped(query: Any, col: Any, tenant: str | None) -> Any:
        return query if tenant is None else query.where(col == tenant)

    # -- figures --------------------------------------------------------------------------------
    async def _runs(self, session: AsyncSession, board: Dashboard) -> None:
        span, tenant = board.range, board.tenant
        in_range = (Run.created_at >= span.since, Run.created_at < span.until)
        by_status = self._scoped(
            select(Run.status, func.count()).where(*in_range).group_by(Run.status),
            Run.tenant,
            tenant,
        )
        board.runs_by_status = [
            {"status": s, "runs": int(n)}
            for s, n in sorted((await session.execute(by_status)).all(), key=lambda r: -r[1])
        ]
        bucket = time_bucket(Run.created_at, span.bucket).label("bucket")
        over_time = self._scoped(
            select(bucket, Run.status, func.count())
            .where(*in_range)
            .group_by(bucket, Run.status)
            .order_by(bucket),
            Run.tenant,
            tenant,
        )
        board.runs_over_time = [
            {"bucket": b, "status": s, "runs": int(n)}
            for b, s, n in (await session.execute(over_time)).all()
        ]
        queue = self._scoped(
            select(
                func.count().filter(Run.status == "pending"),
                func.count().filter(Run.status == "running"),
            ).where(Run.status.in_(("pending", "running"))),
            Run.tenant,
            tenant,
        )
        pending, running = (await session.execute(queue)).one()
        total = sum(r["runs"] for r in board.runs_by_status)
        success = sum(r["runs"] for r in board.runs_by_status if r["status"] == "success")
        board.totals.update(
            runs=total,
            success=success,
            success_rate=(success / total) if total else None,
            queue_pending=int(pending),
            queue_running=int(running),
        )

    async def _latency(self, session: AsyncSession, board: Dashboard) -> None:
        span, tenant = board.range, board.tenant
        durations = self._scoped(
            select(
                Run.graph_id.label("workflow"),
                seconds_between(Run.started_at, Run.finished_at).label("v"),
            ).where(
                Run.created_at >= span.since,
                Run.created_at < span.until,
                Run.started_at.is_not(None),
                Run.finished_at.is_not(None),
            ),
            Run.tenant,
            tenant,
        ).subquery()
        board.latency_by_workflow = [
            {"workflow": w, "runs": int(n), "p50_s": p50, "p95_s": p95, "mean_s": mean}
            for w, n, p50, p95, mean in (
                await session.execute(_percentiles(durations, ["workflow"]))
            ).all()
        ]
        calls = self._scoped(
            select(
                LedgerEntry.workflow.label("workflow"),
                LedgerEntry.node.label("node"),
                LedgerEntry.latency_ms.label("v"),
            ).where(LedgerEntry.created_at >= span.since, LedgerEntry.created_at < span.until),
            LedgerEntry.tenant,
            tenant,
        ).subquery()
        board.latency_by_step = [
            {
                "workflow": w,
                "node": node or "(none)",
                "calls": int(n),
                "p50_ms": p50,
                "p95_ms": p95,
                "mean_ms": mean,
            }
            for w, node, n, p50, p95, mean in (
                await session.execute(_percentiles(calls, ["workflow", "node"]))
            ).all()
        ]

    async def _usage(self, session: AsyncSession, board: Dashboard) -> None:
        span, tenant = board.range, board.tenant
        in_range = (
            LedgerEntry.kind == "llm",
            LedgerEntry.created_at >= span.since,
            LedgerEntry.created_at < span.until,
        )
        tokens = func.coalesce(func.sum(LedgerEntry.input_tokens + LedgerEntry.output_tokens), 0)
        usd = func.coalesce(func.sum(LedgerEntry.usd), 0.0)

        async def grouped(key: Any) -> list[tuple[Any, int, float, int]]:
            query = self._scoped(
                select(key, tokens, usd, func.count()).where(*in_range).group_by(key),
                LedgerEntry.tenant,
                tenant,
            )
            return [(k, int(t), float(u), int(c)) for k, t, u, c in (await session.execute(query))]

        board.usage_by_tenant = [
            {"tenant": k, "tokens": t, "usd": u, "calls": c}
            for k, t, u, c in sorted(await grouped(LedgerEntry.tenant), key=lambda r: -r[2])
        ]
        board.usage_by_model = [
            {"model": k, "tokens": t, "usd": u, "calls": c}
            for k, t, u, c in sorted(await grouped(LedgerEntry.name), key=lambda r: -r[1])
        ]
        bucket = time_bucket(LedgerEntry.created_at, span.bucket).label("bucket")
        board.usage_over_time = [
            {"bucket": k, "tokens": t, "usd": u, "calls": c}
            for k, t, u, c in sorted(await grouped(bucket), key=lambda r: str(r[0]))
        ]
        board.totals.update(
            tokens=sum(r["tokens"] for r in board.usage_by_tenant),
            usd=sum(r["usd"] for r in board.usage_by_tenant),
            llm_calls=sum(r["calls"] for r in board.usage_by_tenant),
        )

    async def _approvals(self, session: AsyncSession, board: Dashboard) -> None:
        span, tenant = board.range, board.tenant
        waits = self._scoped(
            select(
                Approval.workflow.label("workflow"),
                seconds_between(Approval.created_at, Approval.decided_at).label("v"),
            ).where(
                Approval.decided_at.is_not(None),
                Approval.created_at >= span.since,
                Approval.created_at < span.until,
            ),
            Approval.tenant,
            tenant,
        ).subquery()
        board.approval_wait = [
            {"workflow": w, "decided": int(n), "p50_s": p50, "p95_s": p95, "mean_s": mean}
            for w, n, p50, p95, mean in (
                await session.execute(_percentiles(waits, ["workflow"]))
            ).all()
        ]
        pending = self._scoped(
            select(func.count(), func.min(Approval.created_at)).where(Approval.status == "pending"),
            Approval.tenant,
            tenant,
        )
        count, oldest = (await session.execute(pending)).one()
        board.totals.update(approvals_pending=int(count), oldest_pending=oldest)

    async def _errors(self, session: AsyncSession, board: Dashboard) -> None:
        span, tenant = board.range, board.tenant
        code = func.coalesce(json_text(Run.error, "error"), "unknown").label("code")
        runs = self._scoped(
            select(code, func.count())
            .where(Run.status == "error", Run.created_at >= span.since, Run.created_at < span.until)
            .group_by(code),
            Run.tenant,
            tenant,
        )
        calls_code = func.coalesce(LedgerEntry.error_code, "unknown").label("code")
        calls = self._scoped(
            select(calls_code, func.count())
            .where(
                LedgerEntry.status == "error",
                LedgerEntry.created_at >= span.since,
                LedgerEntry.created_at < span.until,
            )
            .group_by(calls_code),
            LedgerEntry.tenant,
            tenant,
        )
        found: dict[str, dict[str, Any]] = {}
        for source, query in (("runs", runs), ("calls", calls)):
            for name, n in (await session.execute(query)).all():
                entry = found.setdefault(str(name), {"code": str(name), "runs": 0, "calls": 0})
                entry[source] = int(n)
        board.errors_by_code = sorted(found.values(), key=lambda e: -(e["runs"] + e["calls"]))
        board.totals["errors"] = sum(e["runs"] for e in board.errors_by_code)

    async def _evals(self, session: AsyncSession, board: Dashboard) -> None:
        span, tenant = board.range, board.tenant
        cards = _SCORECARDS.c
        query = self._scoped(
            select(cards.created_at, cards.workflow, cards.dataset, cards.model, cards.pass_rate)
            .where(cards.created_at >= span.since, cards.created_at < span.until)
            .order_by(cards.created_at)
            .limit(500),
            cards.tenant,
            tenant,
        )
        board.eval_pass_rate = [
            {
                "at": at,
                "workflow": workflow,
                "dataset": dataset,
                "model": model,
                "pass_rate": float(rate),
            }
            for at, workflow, dataset, model, rate in (await session.execute(query)).all()
        ]
