"""The durable run queue: enqueue wake-ups, claim with a lease, heartbeat, reap, cancel, events.

Claiming: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets any number of worker processes
claim concurrently; on SQLite one process owns the queue and claims under an ``asyncio.Lock``
(the conditional ``UPDATE ... WHERE status='pending'`` keeps it correct even without the lock).
A run is claimable only while no other run of its thread is ``running``: runs of one thread
execute one at a time, in creation order.

Nothing here sleeps in a loop: claimers and waiters block on ``Signals`` tickets woken right after
the commit that concerns them (and, on PostgreSQL, by ``pg_notify`` from other processes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from runtime.metrics import default_metrics
from runtime.models import utcnow
from runtime.runs.models import RUN_EVENTS, RUNS, Run, RunEvent, Thread
from runtime.runs.signals import NOTIFY_CHANNEL, Signals
from runtime.settings import WorkerSettings

__all__ = ["TERMINAL", "RunQueue", "cancel_key", "done_key", "queue_key", "run_key"]

TERMINAL = frozenset({"success", "error", "interrupted", "timeout"})


def run_key(run_id: str) -> str:
    return f"run:{run_id}"


def done_key(run_id: str) -> str:
    """Woken when the run reaches a terminal state (or is deleted)."""
    return f"done:{run_id}"


def cancel_key(run_id: str) -> str:
    return f"cancel:{run_id}"


queue_key = "queue"
_RETRY: Any = object()  # a claim lost a per-thread race; try again


class RunQueue:
    """Queue operations over the app database, plus the wake-up plumbing around them."""

    def __init__(
        self, engine: AsyncEngine, signals: Signals, worker: WorkerSettings | None = None
    ) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.signals = signals
        self.settings = worker or WorkerSettings()
        self.is_postgres = engine.dialect.name == "postgresql"
        self._claim_lock = asyncio.Lock()
        self._claim_query = self._build_claim_query()

    def _build_claim_query(self) -> Any:
        """Oldest pending run whose thread has no running run (built once: it is hot)."""
        other = aliased(Run)
        busy = exists().where(and_(other.thread_id == Run.thread_id, other.status == "running"))
        query = (
            select(Run.run_id, Run.thread_id)
            .where(Run.status == "pending", ~busy)
            .order_by(Run.created_at, Run.run_id)
            .limit(1)
        )
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True, of=Run)
        return query

    async def _own_thread(self, session: AsyncSession, thread_id: str) -> bool:
        """PostgreSQL: serialize claims per thread across processes.

        SKIP LOCKED alone would let two workers claim two pending runs of one thread at once
        (each skips the other's row). A transaction-scoped advisory lock on the thread, then a
        fresh look for a running run of it, closes that gap.
        """
        locked = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtext(:t))"), {"t": thread_id}
        )
        if not locked.scalar():
            return False
        running = await session.execute(
            select(exists().where(Run.thread_id == thread_id, Run.status == "running"))
        )
        return not running.scalar()

    # -- wake-ups -----------------------------------------------------------------------------
    async def notify(self, session: AsyncSession, keys: Iterable[str]) -> list[str]:
        """Queue cross-process notifications inside ``session``'s transaction (PostgreSQL)."""
        keys = list(keys)
        if self.is_postgres:
            for key in keys:
                await session.execute(
                    text("SELECT pg_notify(:ch, :key)"), {"ch": NOTIFY_CHANNEL, "key": key}
                )
        return keys

    def wake(self, keys: Iterable[str]) -> None:
        """Wake in-process waiters; call after the commit that changed what they wait for."""
        for key in keys:
            self.signals.wake(key)

    async def commit_and_wake(self, session: AsyncSession, *keys: str) -> None:
        await self.notify(session, keys)
        await session.commit()
        self.wake(keys)

    # -- claiming -----------------------------------------------------------------------------
    def _lease_until(self) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=self.settings.lease_s)

    async def claim(self, owner: str) -> Run | None:
        """Claim the oldest claimable run for ``owner`` (status -> running), or None."""
        if self.is_postgres:
            for _ in range(3):  # a lost per-thread race is retried at once, a few times
                run = await self._claim_once(owner)
                if run is not _RETRY:
                    return run
            return None
        async with self._claim_lock:
            run = await self._claim_once(owner)
            return None if run is _RETRY else run

    async def _claim_once(self, owner: str) -> Run | None:
        query = self._claim_query
        async with self.sessions() as session:
            row = (await session.execute(query)).first()
            if row is None:
                await session.rollback()
                return None
            run_id, thread_id = row
            if self.is_postgres and not await self._own_thread(session, thread_id):
                await session.rollback()
                retry: Run | None = _RETRY
                return retry
            now = utcnow()
            # RETURNING the claimed row saves re-reading it after the commit
            claimed = (
                await session.execute(
                    update(Run)
                    .where(Run.run_id == run_id, Run.status == "pending")
                    .values(
                        status="running",
                        lease_owner=owner,
                        lease_expires_at=self._lease_until(),
                        heartbeat_at=now,
                        started_at=now,
                        updated_at=now,
                        attempt=Run.attempt + 1,
                    )
                    .returning(Run)
                    .execution_options(populate_existing=True)
                )
            ).scalar_one_or_none()
            if claimed is None:
                await session.rollback()
                return None
            await session.commit()
            default_metrics().observe_claim_latency(
                max((now - _aware(claimed.created_at)).total_seconds(), 0.0)
            )
            return claimed

    async def depth(self) -> int:
        """Runs waiting to be claimed."""
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(RUNS).where(RUNS.c.status == "pending")
            )
        return int(count or 0)

    async def heartbeat(
        self, run_id: str, owner: str, usage: dict[str, Any] | None = None
    ) -> str | None:
        """Extend the lease (and record usage so far).

        Returns the requested cancel action, ``"lost"`` when another worker owns the run, or None.
        """
        async with self.sessions() as session:
            result = await session.execute(
                update(RUNS)
                .where(
                    RUNS.c.run_id == run_id,
                    RUNS.c.lease_owner == owner,
                    RUNS.c.status == "running",
                )
                .values(
                    lease_expires_at=self._lease_until(), heartbeat_at=utcnow(), **(usage or {})
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return "lost"
            action = (
                await session.execute(select(Run.cancel_requested).where(Run.run_id == run_id))
            ).scalar_one_or_none()
            await session.commit()
            return action

    async def reap(self) -> int:
        """Re-queue running runs whose lease expired; fail those out of attempts. Returns count."""
        now = utcnow()
        async with self.sessions() as session:
            expired = (
                (
                    await session.execute(
                        select(Run).where(Run.status == "running", Run.lease_expires_at < now)
                    )
                )
                .scalars()
                .all()
            )
            for run in expired:
                if run.attempt >= self.settings.max_attempts:
                    run.status, run.finished_at = "error", now
                    run.error = {
                        "error": "LeaseExpired",
                        "message": f"worker lost the run; gave up after {run.attempt} attempts",
                    }
                    await session.execute(
                        update(Thread)
                        .where(Thread.thread_id == run.thread_id)
                        .values(status="error", updated_at=now)
                    )
                else:
                    run.status, run.lease_owner, run.lease_expires_at = "pending", None, None
            keys = [queue_key, *(run_key(r.run_id) for r in expired)]
            keys += [done_key(r.run_id) for r in expired if r.status == "error"]
            if expired:
                await self.commit_and_wake(session, *keys)
            else:
                await session.rollback()
            return len(expired)

    # -- cancellation ---------------------------------------------------------------------------
    async def request_cancel(self, run_ids: Iterable[str], action: str = "interrupt") -> list[str]:
        """Cancel runs: pending ones at once, running ones through their worker.

        Returns the ids that were still active. A running run gets ``cancel_requested`` (read by
        its worker's heartbeat in any process) and an immediate in-process wake-up.
        """
        ids = list(run_ids)
        now = utcnow()
        touched: list[str] = []
        async with self.sessions() as session:
            runs = (
                (
                    await session.execute(
                        select(Run).where(
                            Run.run_id.in_(ids), Run.status.in_(["pending", "running"])
                        )
                    )
                )
                .scalars()
                .all()
            )
            for run in runs:
                touched.append(run.run_id)
                if run.status == "pending":
                    run.status, run.finished_at, run.updated_at = "interrupted", now, now
                else:
                    run.cancel_requested = action
            keys = [queue_key]
            for run_id in touched:
                keys += [run_key(run_id), cancel_key(run_id), done_key(run_id)]
            await self.commit_and_wake(session, *keys)
        if action == "rollback":
            await self.delete_finished(touched)
        return touched

    async def delete_finished(self, run_ids: Iterable[str]) -> None:
        """Delete runs (rollback) that are no longer active."""
        ids = list(run_ids)
        async with self.sessions() as session:
            await session.execute(
                delete(Run).where(Run.run_id.in_(ids), Run.status.in_(list(TERMINAL)))
            )
            await self.commit_and_wake(session, *(done_key(i) for i in ids))

    # -- events ---------------------------------------------------------------------------------
    async def next_seq(self, run_id: str) -> int:
        async with self.sessions() as session:
            current = (
                await session.execute(
                    select(func.max(RunEvent.seq)).where(RunEvent.run_id == run_id)
                )
            ).scalar_one_or_none()
            return 0 if current is None else int(current) + 1

    async def append_events(self, run_id: str, events: list[tuple[int, str, Any]]) -> None:
        """Store events (seq, name, data) and wake the run's stream readers."""
        if not events:
            return
        async with self.sessions() as session:
            await self.insert_events(session, run_id, events)
            await self.commit_and_wake(session, run_key(run_id))

    @staticmethod
    async def insert_events(
        session: AsyncSession, run_id: str, events: list[tuple[int, str, Any]]
    ) -> None:
        """Insert events in ``session``'s transaction (the caller commits and wakes readers)."""
        if not events:
            return
        now = utcnow()
        rows = [
            {"run_id": run_id, "seq": seq, "event": name, "data": data, "created_at": now}
            for seq, name, data in events
        ]
        # a Core executemany: no ORM identity bookkeeping, no RETURNING of the new ids
        await session.execute(insert(RUN_EVENTS), rows)

    async def read_events(self, run_id: str, after: int, limit: int = 500) -> list[RunEvent]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(RunEvent)
                .where(RunEvent.run_id == run_id, RunEvent.seq > after)
                .order_by(RunEvent.seq)
                .limit(limit)
            )
            return list(rows.scalars().all())

    async def get_run(self, run_id: str) -> Run | None:
        async with self.sessions() as session:
            return await session.get(Run, run_id)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
