"""The durable run queue: enqueue wake-ups, claim with a lease, heartbeat, reap, cancel, events.

Claiming is one ``UPDATE ... WHERE run_id = (oldest claimable) RETURNING *`` statement. On
PostgreSQL its subquery takes ``FOR UPDATE SKIP LOCKED`` so any number of worker processes claim
concurrently; on SQLite one process owns the queue and claims under an ``asyncio.Lock``. A run is
claimable only while no other run of its thread is ``running``: runs of one thread execute one at
a time, in creation order. A unique index on running runs per thread (migration 0006) makes that
a database invariant: two processes that pick runs of one thread at once collide on it, and the
loser simply claims again.

Nothing here sleeps in a loop: claimers and waiters block on ``Signals`` tickets woken right after
the commit that concerns them (and, on PostgreSQL, by ``pg_notify`` from other processes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from waypost.observability.metrics import default_metrics
from waypost.runtime.models import utcnow
from waypost.runtime.rawsql import INTEGRITY_ERRORS, RawDB, Tx
from waypost.runtime.settings import WorkerSettings
from waypost.server import sql
from waypost.server.models import Approval, Run, Thread
from waypost.server.signals import Signals, notify_payloads
from waypost.server.sql import StoredEvent, ThreadEvent, run_from_row

__all__ = [
    "TERMINAL",
    "RunQueue",
    "approvals_key",
    "cancel_key",
    "done_key",
    "queue_key",
    "run_key",
    "thread_key",
]

TERMINAL = frozenset({"success", "error", "interrupted", "timeout", "quota_exceeded"})


def run_key(run_id: str) -> str:
    return f"run:{run_id}"


def done_key(run_id: str) -> str:
    """Woken when the run reaches a terminal state (or is deleted)."""
    return f"done:{run_id}"


def cancel_key(run_id: str) -> str:
    return f"cancel:{run_id}"


def approvals_key(tenant: str) -> str:
    """Woken when a tenant's approvals change (requested or decided): the console's inbox."""
    return f"approvals:{tenant}"


def thread_key(thread_id: str) -> str:
    """Woken (in process) when a run is created on the thread: thread streams pick it up."""
    return f"thread:{thread_id}"


queue_key = "queue"
_RETRY: Any = object()  # a claim lost a per-thread race; try again


class RunQueue:
    """Queue operations over the app database, plus the wake-up plumbing around them.

    Hot operations (claim, heartbeat, events, reads) run as raw SQL on ``db``; rare ones (reap,
    cancel, delete) through the ORM ``sessions``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        signals: Signals,
        worker: WorkerSettings | None = None,
        *,
        db: RawDB | None = None,
    ) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.signals = signals
        self.settings = worker or WorkerSettings()
        self.is_postgres = engine.dialect.name == "postgresql"
        self.db = db or RawDB.for_url(engine.url.render_as_string(hide_password=False))
        self._claim_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.db.close()

    # -- wake-ups -----------------------------------------------------------------------------
    async def notify(self, session: AsyncSession, keys: Iterable[str]) -> list[str]:
        """Queue cross-process notifications inside ``session``'s transaction (PostgreSQL)."""
        keys = list(keys)
        if self.is_postgres:
            for channel, payload in notify_payloads(keys):
                await session.execute(
                    text("SELECT pg_notify(:ch, :keys)"), {"ch": channel, "keys": payload}
                )
        return keys

    def notify_tx(self, tx: Tx, *keys: str) -> None:
        """The same, inside a raw transaction (the caller wakes in-process after it commits)."""
        if self.is_postgres and keys:
            for channel, payload in notify_payloads(list(keys)):
                tx.execute(sql.NOTIFY, {"channel": channel, "keys": payload})

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
        async with self._claim_lock:  # SQLite: this process owns the queue
            run = await self._claim_once(owner)
            return None if run is _RETRY else run

    async def _claim_once(self, owner: str) -> Run | None:
        """One autocommit statement: claims a run, or finds nothing, in one round trip."""
        db = self.db
        now = utcnow()
        params = {
            "owner": owner,
            "lease": db.ts(now + dt.timedelta(seconds=self.settings.lease_s)),
            "now": db.ts(now),
        }
        try:
            row = await db.tx(lambda tx: tx.one(sql.CLAIM, params), write=False)
        except INTEGRITY_ERRORS:  # another process started a run of that thread first
            retry: Run | None = _RETRY
            return retry
        if row is None:
            return None
        run = run_from_row(db, row)
        default_metrics().observe_claim_latency(
            max((utcnow() - _aware(run.created_at)).total_seconds(), 0.0)
        )
        return run

    async def depth(self) -> int:
        """Runs waiting to be claimed."""
        return int(await self.db.tx(lambda tx: tx.scalar(sql.COUNT_PENDING), write=False) or 0)

    async def heartbeat(
        self, run_id: str, owner: str, usage: dict[str, Any] | None = None
    ) -> str | None:
        """Extend the lease (and record usage so far).

        Returns the requested cancel action, ``"lost"`` when another worker owns the run, or None.
        """
        usage = usage or {}
        now = utcnow()
        params = {
            "run_id": run_id,
            "owner": owner,
            "lease": self.db.ts(self._lease_until()),
            "now": self.db.ts(now),
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "usd": usage.get("usd"),
        }
        row = await self.db.tx(lambda tx: tx.one(sql.HEARTBEAT, params), write=False)
        if row is None:
            return "lost"
        return cast(str | None, row["cancel_requested"])

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

    async def delete_thread_rows(self, thread_id: str) -> None:
        """Delete a thread with its runs, approvals and crons (its checkpoints are the saver's)."""
        async with self.sessions() as session:
            await session.execute(delete(Approval).where(Approval.thread_id == thread_id))
            await session.execute(delete(Run).where(Run.thread_id == thread_id))
            await session.execute(delete(Thread).where(Thread.thread_id == thread_id))
            # its crons would only fail to start runs from now on (migration 0008)
            await session.execute(
                text("DELETE FROM crons WHERE thread_id = :thread_id"), {"thread_id": thread_id}
            )
            await session.commit()

    # -- events ---------------------------------------------------------------------------------
    async def next_seq(self, run_id: str) -> int:
        current = await self.db.tx(
            lambda tx: tx.scalar(sql.MAX_SEQ, {"run_id": run_id}), write=False
        )
        return 0 if current is None else int(current) + 1

    async def append_events(self, run_id: str, events: list[tuple[int, str, Any]]) -> None:
        """Store events (seq, name, data) and wake the run's stream readers."""
        if not events:
            return
        key = run_key(run_id)
        if self.is_postgres:  # one autocommit statement: the rows and their NOTIFY
            (channel, payload), *_ = notify_payloads([key])
            params = {**self.event_rows(run_id, events), "channel": channel, "keys": payload}
            await self.db.tx(lambda tx: tx.one(sql.APPEND_EVENTS_AND_NOTIFY, params), write=False)
        else:
            await self.db.tx(lambda tx: self.insert_events(tx, run_id, events))
        self.signals.wake(key)

    def insert_events(self, tx: Tx, run_id: str, events: list[tuple[int, str, Any]]) -> None:
        """Insert events in ``tx`` (the caller commits and wakes readers)."""
        if not events:
            return
        if self.is_postgres:
            tx.execute(sql.INSERT_EVENT_ROWS, self.event_rows(run_id, events))
            return
        now = self.db.ts(utcnow())
        rows = [
            {"run_id": run_id, "seq": seq, "event": name, "data": self.db.json(data), "now": now}
            for seq, name, data in events
        ]
        tx.executemany(sql.INSERT_EVENT, rows)

    def event_rows(self, run_id: str, events: list[tuple[int, str, Any]]) -> dict[str, Any]:
        """Events as the ``:rows`` JSON array of the PostgreSQL batch statements."""
        rows = [{"seq": seq, "event": name, "data": data} for seq, name, data in events]
        return {"run_id": run_id, "rows": self.db.json(rows), "now": self.db.ts(utcnow())}

    async def read_events(self, run_id: str, after: int, limit: int = 500) -> list[StoredEvent]:
        params = {"run_id": run_id, "after": after, "limit": limit}
        rows = await self.db.tx(lambda tx: tx.all(sql.READ_EVENTS, params), write=False)
        return [StoredEvent(r["seq"], r["event"], self.db.loads(r["data"])) for r in rows]

    async def read_thread_events(
        self, thread_id: str, after: int, limit: int = 500
    ) -> list[ThreadEvent]:
        params = {"thread_id": thread_id, "after": after, "limit": limit}
        rows = await self.db.tx(lambda tx: tx.all(sql.READ_THREAD_EVENTS, params), write=False)
        return [
            ThreadEvent(r["id"], r["run_id"], r["event"], self.db.loads(r["data"])) for r in rows
        ]

    async def last_thread_event(self, thread_id: str) -> int:
        """The id of the thread's newest stored event (-1: none): where a live join starts."""
        found = await self.db.tx(
            lambda tx: tx.scalar(sql.LAST_THREAD_EVENT, {"thread_id": thread_id}), write=False
        )
        return -1 if found is None else int(found)

    async def active_runs(self, thread_id: str) -> list[str]:
        """Pending and running runs of the thread, oldest first."""
        rows = await self.db.tx(
            lambda tx: tx.all(sql.ACTIVE_RUNS, {"thread_id": thread_id}), write=False
        )
        return [r["run_id"] for r in rows]

    async def get_run(self, run_id: str) -> Run | None:
        row = await self.db.tx(lambda tx: tx.one(sql.GET_RUN, {"run_id": run_id}), write=False)
        return None if row is None else run_from_row(self.db, row)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
