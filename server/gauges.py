"""Gauges read from the database at scrape time: queue depth and pending approvals."""

from __future__ import annotations

import asyncio

from sqlalchemy import case, func, select
from waypost.observability.metrics import default_metrics
from waypost.server.models import Approval
from waypost.server.queue import RunQueue
from waypost.server.quotas import TenantQuotas

__all__ = ["refresh_queue_gauges"]


async def refresh_queue_gauges(queue: RunQueue) -> None:
    """Set ``waypost_queue_depth`` and ``waypost_pending_approvals`` from the database.

    Every workflow that ever had an approval gets a value, so a drained inbox reads 0.
    """
    metrics = default_metrics()
    metrics.set_queue_depth(await queue.depth())
    pending = func.sum(case((Approval.status == "pending", 1), else_=0))
    async with queue.sessions() as session:
        rows = (
            await session.execute(select(Approval.workflow, pending).group_by(Approval.workflow))
        ).all()
    for workflow, count in rows:
        metrics.set_pending_approvals(str(workflow), int(count or 0))


async def refresh_quota_gauges(quotas: TenantQuotas, tenants: list[str]) -> None:
    """Usage against quota for every tenant that has a quota."""
    metrics = default_metrics()
    for tenant in tenants:
        if not quotas.limits(tenant).any:
            continue
        usage = await asyncio.to_thread(quotas.usage, tenant)
        for quota, figures in usage.items():
            if figures["limit"] is not None:
                metrics.set_quota(
                    tenant, quota, float(figures["used"] or 0), float(figures["limit"])
                )
