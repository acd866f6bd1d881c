"""The console's dashboard figures, each one SQL aggregate that runs on SQLite and PostgreSQL.

Sources: the ``runs`` table (status, duration, queue), the usage ledger (per-call latency,
tokens, USD, error codes), ``approvals`` (waiting time) and ``eval_scorecards`` (pass rate over
time). A ``scope`` is one tenant, or ``None`` for every tenant (the console offers that to
admins only). Percentiles are nearest-rank, one ordered aggregate per group
(``runtime.sqlfuncs.nearest_ranks``).

Views of ``ROLLUP_FROM`` (7 days) or longer read the ledger figures (per-step latency, usage,
failed calls by code) from the daily roll-up (``runtime.usage_rollup``) for the whole UTC days
of the range and from the ledger rows of the partial first day: counts, tokens and USD are the
same as over the raw rows, per-step p50/p95 come from the roll-up's log-scale histogram, within
2.5 % of the exact nearest rank. Shorter views read the ledger rows, exact. Run durations,
approval waits and run counts always come from their tables, exact.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Select,
    String,
    column,
    func,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from waypost.observability.ledger import LedgerEntry
from waypost.observability.rollup import UsageRollup, UsageRollupErrors, UsageRollupLatency
from waypost.runtime.sqlfuncs import (
    Bucket,
    json_text,
    nearest_ranks,
    seconds_between,
    time_bucket,
    time_bucket_key,
)
from waypost.runtime.usage_rollup import day_of, latency_bin, nearest_rank_from_bins
from waypost.server.models import Approval, Run

__all__ = ["RANGES", "ROLLUP_FROM", "Dashboard", "Dashboards", "TimeRange", "time_range"]

ROLLUP_FROM = dt.timedelta(days=7)
"""Views this long or longer read ledger figures from the daily roll-up."""

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

    @property
    def rolled_up_from(self) -> dt.datetime | None:
        """Where the daily roll-up takes over from the ledger: the first UTC midnight after
        ``since`` for views of ``ROLLUP_FROM`` or longer (the ledger answers for the partial
        first day), None for shorter views (all from the ledger, exact)."""
        if self.until - self.since < ROLLUP_FROM:
            return None
        start = dt.datetime.combine(self.since.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
        return min(start + dt.timedelta(days=1), self.until)

    @property
    def ledger_until(self) -> dt.datetime:
        """The end of what the ledger rows answer for (all of the view when short)."""
        return self.rolled_up_from or self.until


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
    """Per group: count, (p50, p95) and mean of ``inner.c.v`` (nearest rank, one pass)."""
    keys = [inner.c[g] for g in groups]
    return (
        select(
            *keys,
            func.count().label("n"),
            nearest_ranks(inner.c.v, (50, 95)).label("ranks"),
            func.avg(inner.c.v).label("mean"),
        )
        .group_by(*keys)
        .order_by(*keys)
    )


# workflow, node, calls, p50, p95, mean
_Step = tuple[str, str, int, float | None, float | None, float | None]

CACHED_FROM = dt.timedelta(days=7)


class Dashboards:
    """Builds dashboards; views of ``CACHED_FROM`` or longer are kept for ``cache_s`` seconds.

    A month of figures reads a month of runs and the ledger's daily roll-up; nobody needs it
    fresher than a minute, and a page someone reloads should not cost that each time. Shorter
    views are always computed afresh, so what just happened shows at once.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache_s: float = 0.0) -> None:
        self.sessions = sessions
        self.cache_s = cache_s
        self._cache: dict[tuple[str | None, str], Dashboard] = {}

    async def get(self, tenant: str | None, key: str | None) -> Dashboard:
        """The dashboard over the range named ``key``, from the cache when allowed."""
        span = time_range(key)
        cacheable = self.cache_s > 0 and span.until - span.since >= CACHED_FROM
        if cacheable:
            found = self._cache.get((tenant, span.key))
            if (
                found is not None
                and (span.until - found.range.until).total_seconds() < self.cache_s
            ):
                return found
        board = await self.build(tenant, span)
        if cacheable:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[(tenant, span.key)] = board
        return board

    async def build(self, tenant: str | None, span: TimeRange) -> Dashboard:
        """Every figure of the dashboard for ``tenant`` (None: all tenants) over ``span``."""
        board = Dashboard(range=span, tenant=tenant)

        async def figure(part: Callable[[AsyncSession, Dashboard], Awaitable[None]]) -> None:
            async with self.sessions() as session:
                await part(session, board)

        # independent aggregates on their own connections: the database works on them at once
        await asyncio.gather(
            *(
                figure(part)
                for part in (
                    self._latency,
                    self._usage,
                    self._runs,
                    self._errors,
                    self._approvals,
                    self._evals,
                )
            )
        )
        board.totals["tokens"] = sum(r["tokens"] for r in board.usage_by_tenant)
        board.totals["usd"] = sum(r["usd"] for r in board.usage_by_tenant)
        board.totals["llm_calls"] = sum(r["calls"] for r in board.usage_by_tenant)
        return board

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _scoped(query: Any, col: Any, tenant: str | None) -> Any:
        return query if tenant is None else query.where(col == tenant)

    # -- figures --------------------------------------------------------------------------------
    async def _runs(self, session: AsyncSession, board: Dashboard) -> None:
        span, tenant = board.range, board.tenant
        bucket = time_bucket(Run.created_at, span.bucket).label("bucket")
        over_time = self._scoped(
            select(bucket, Run.status, func.count())
            .where(Run.created_at >= span.since, Run.created_at < span.until)
            .group_by(time_bucket_key(Run.created_at, span.bucket), Run.status)
            .order_by(bucket),
            Run.tenant,
            tenant,
        )
        board.runs_over_time = [
            {"bucket": b, "status": s, "runs": int(n)}
            for b, s, n in (await session.execute(over_time)).all()
        ]
        counts: dict[str, int] = defaultdict(int)
        for row in board.runs_over_time:
            counts[row["status"]] += row["runs"]
        board.runs_by_status = [
            {"status": s, "runs": n} for s, n in sorted(counts.items(), key=lambda r: -r[1])
        ]
        # every tenant's queue through the status index (a few rows), then the scope's share:
        # filtered by tenant, SQLite's planner walks the tenant's runs instead
        queue = (
            select(Run.tenant, Run.status, func.count())
            .where(Run.status.in_(("pending", "running")))
            .group_by(Run.tenant, Run.status)
        )
        waiting: dict[str, int] = defaultdict(int)
        for who, status, n in (await session.execute(queue)).all():
            if tenant is None or who == tenant:
                waiting[status] += int(n)
        pending, running = waiting["pending"], waiting["running"]
        total = sum(counts.values())
        board.totals.update(
            runs=total,
            success=counts["success"],
            success_rate=(counts["success"] / total) if total else None,
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
            for w, n, (p50, p95), mean in (
                await session.execute(_percentiles(durations, ["workflow"]))
            ).all()
        ]
        if span.rolled_up_from is None:
            calls = self._scoped(
                select(
                    LedgerEntry.workflow.label("workflow"),
                    LedgerEntry.node.label("node"),
                    LedgerEntry.latency_ms.label("v"),
                ).where(LedgerEntry.created_at >= span.since, LedgerEntry.created_at < span.until),
                LedgerEntry.tenant,
                tenant,
            ).subquery()
            steps = [
                (w, node, int(n), p50, p95, mean)
                for w, node, n, (p50, p95), mean in (
                    await session.execute(_percentiles(calls, ["workflow", "node"]))
                ).all()
            ]
        else:
            steps = await self._rolled_up_latency(session, board)
        board.latency_by_step = [
            {
                "workflow": w,
                "node": node or "(none)",
                "calls": n,
                "p50_ms": p50,
                "p95_ms": p95,
                "mean_ms": mean,
            }
            for w, node, n, p50, p95, mean in steps
        ]

    async def _rolled_up_latency(self, session: AsyncSession, board: Dashboard) -> list[_Step]:
        """Per step: calls, p50, p95 and mean latency from the roll-up's whole days and the
        ledger rows of the partial first day, binned alike (percentiles within 2.5 %)."""
        span, tenant = board.range, board.tenant
        first_day = day_of(span.ledger_until)
        hist = UsageRollupLatency
        binned = self._scoped(
            select(hist.workflow, hist.node, hist.bin, func.sum(hist.calls))
            .where(hist.day >= first_day)
            .group_by(hist.workflow, hist.node, hist.bin),
            hist.tenant,
            tenant,
        )
        sums = self._scoped(
            select(
                UsageRollup.workflow,
                UsageRollup.node,
                func.sum(UsageRollup.calls),
                func.sum(UsageRollup.latency_ms),
            )
            .where(UsageRollup.day >= first_day)
            .group_by(UsageRollup.workflow, UsageRollup.node),
            UsageRollup.tenant,
            tenant,
        )
        edge = self._scoped(
            select(LedgerEntry.workflow, LedgerEntry.node, LedgerEntry.latency_ms).where(
                LedgerEntry.created_at >= span.since, LedgerEntry.created_at < span.ledger_until
            ),
            LedgerEntry.tenant,
            tenant,
        )
        bins: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
        totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
        for w, node, b, n in (await session.execute(binned)).all():
            bins[(w, node)][int(b)] += int(n)
        for w, node, n, total_ms in (await session.execute(sums)).all():
            totals[(w, node)][0] += int(n)
            totals[(w, node)][1] += float(total_ms or 0.0)
        for w, node, ms in (await session.execute(edge)).all():
            bins[(w, node)][latency_bin(float(ms))] += 1
            totals[(w, node)][0] += 1
            totals[(w, node)][1] += float(ms)
        found: list[_Step] = []
        for (w, node), (n, total_ms) in sorted(totals.items()):
            if n <= 0:
                continue
            p50, p95 = nearest_rank_from_bins(bins[(w, node)], (50, 95))
            found.append((w, node, int(n), p50, p95, total_ms / n))
        return found

    async def _usage(self, session: AsyncSession, board: Dashboard) -> None:
        """Tokens, USD and calls of model calls by tenant, model and time bucket (one pass)."""
        span, tenant = board.range, board.tenant
        bucket = time_bucket(LedgerEntry.created_at, span.bucket).label("bucket")
        query = self._scoped(
            select(
                LedgerEntry.tenant,
                LedgerEntry.name,
                bucket,
                func.coalesce(func.sum(LedgerEntry.input_tokens + LedgerEntry.output_tokens), 0),
                func.coalesce(func.sum(LedgerEntry.usd), 0.0),
                func.count(),
            )
            .where(
                LedgerEntry.kind == "llm",
                LedgerEntry.created_at >= span.since,
                LedgerEntry.created_at < span.ledger_until,
            )
            .group_by(
                LedgerEntry.tenant,
                LedgerEntry.name,
                time_bucket_key(LedgerEntry.created_at, span.bucket),
            ),
            LedgerEntry.tenant,
            tenant,
        )
        found = list((await session.execute(query)).all())
        if span.rolled_up_from is not None:  # whole days: the roll-up (day buckets)
            daily = UsageRollup
            rolled = self._scoped(
                select(
                    daily.tenant,
                    daily.name,
                    daily.day,
                    func.sum(daily.input_tokens + daily.output_tokens),
                    func.sum(daily.usd),
                    func.sum(daily.calls),
                )
                .where(daily.kind == "llm", daily.day >= day_of(span.rolled_up_from))
                .group_by(daily.tenant, daily.name, daily.day),
                daily.tenant,
                tenant,
            )
            found += (await session.execute(rolled)).all()
        sums: dict[str, dict[Any, list[float]]] = {"tenant": {}, "model": {}, "bucket": {}}
        for who, model, when, tokens, usd, calls in found:
            for axis, key in (("tenant", who), ("model", model), ("bucket", when)):
                entry = sums[axis].setdefault(key, [0, 0.0, 0])
                entry[0] += int(tokens)
                entry[1] += float(usd)
                entry[2] += int(calls)

        def rows(axis: str) -> list[dict[str, Any]]:
            return [
                {axis: k, "tokens": int(v[0]), "usd": v[1], "calls": int(v[2])}
                for k, v in sums[axis].items()
            ]

        board.usage_by_tenant = sorted(rows("tenant"), key=lambda r: -r["usd"])
        board.usage_by_model = sorted(rows("model"), key=lambda r: -r["tokens"])
        board.usage_over_time = sorted(rows("bucket"), key=lambda r: str(r["bucket"]))

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
            for w, n, (p50, p95), mean in (
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
                LedgerEntry.created_at < span.ledger_until,
            )
            .group_by(calls_code),
            LedgerEntry.tenant,
            tenant,
        )
        queries = [("runs", runs), ("calls", calls)]
        if span.rolled_up_from is not None:  # whole days: the roll-up
            failed = UsageRollupErrors
            queries.append(
                (
                    "calls",
                    self._scoped(
                        select(failed.code, func.sum(failed.calls))
                        .where(failed.day >= day_of(span.rolled_up_from))
                        .group_by(failed.code),
                        failed.tenant,
                        tenant,
                    ),
                )
            )
        found: dict[str, dict[str, Any]] = {}
        for source, query in queries:
            for name, n in (await session.execute(query)).all():
                entry = found.setdefault(str(name), {"code": str(name), "runs": 0, "calls": 0})
                entry[source] += int(n)
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
