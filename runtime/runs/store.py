"""Threads and runs: creation with the LangGraph multitask rules, lookup, search, deletion.

Creating a run flips its thread to ``busy`` with a conditional ``UPDATE ... WHERE status = <what
we read>`` in the transaction that inserts the run, so two concurrent creations (or a creation
racing an approval decision) cannot both take an idle or interrupted thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from runtime.errors import Conflict, NotFound
from runtime.models import utcnow
from runtime.runs.models import RUNS, THREADS, Approval, Run, Thread
from runtime.runs.queue import RunQueue, queue_key

__all__ = ["RunRequest", "RunStore", "resolve_pending_approvals"]

ACTIVE = ("pending", "running")
_NO_RESUME: Any = object()
_DECISION_STATUS = {"approve": "approved", "reject": "rejected", "edit": "edited"}


class RunRequest:
    """What a run should do; the API builds it from the request body."""

    def __init__(
        self,
        *,
        assistant_id: str,
        graph_id: str,
        input: Any = None,
        command: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        multitask_strategy: str = "reject",
        tenant: str = "default",
        run_id: str | None = None,
    ) -> None:
        # chosen up front when the caller wants to subscribe to the run before it exists
        self.run_id = run_id or str(uuid.uuid4())
        self.assistant_id = assistant_id
        self.graph_id = graph_id
        self.input = input
        self.command = command
        self.config = config or {}
        self.kwargs = kwargs or {}
        self.metadata = metadata or {}
        self.multitask_strategy = multitask_strategy
        self.tenant = tenant


def resolve_pending_approvals(
    approvals: Sequence[Approval], resume: Any, by: str, run_id: str
) -> None:
    """Close a thread's pending approvals when it moves on outside the approvals API.

    A ``command.resume`` decides them (its ``decision`` key, if any, names the outcome); new
    input without a resume leaves them moot, so they become ``superseded``.
    """
    if resume is _NO_RESUME:
        status, decision = "superseded", {"reason": "the thread received new input"}
    else:
        verdict = resume.get("decision") if isinstance(resume, dict) else None
        status, decision = _DECISION_STATUS.get(str(verdict), "approved"), {"resume": resume}
    for approval in approvals:
        approval.status, approval.decision = status, decision
        approval.decided_by, approval.decided_at = by, utcnow()
        approval.resume_run_id = run_id


class RunStore:
    def __init__(self, queue: RunQueue) -> None:
        self.queue = queue
        self.sessions = queue.sessions

    # -- threads --------------------------------------------------------------------------------
    async def create_thread(
        self,
        thread_id: str | None,
        metadata: dict[str, Any] | None,
        if_exists: str = "raise",
        tenant: str = "default",
    ) -> Thread:
        """Insert first and look only on a duplicate key: one statement for a new thread."""
        thread_id = thread_id or str(uuid.uuid4())
        now = utcnow()
        thread = Thread(
            thread_id=thread_id,
            tenant=tenant,
            status="idle",
            meta=dict(metadata or {}),
            created_at=now,
            updated_at=now,
        )
        async with self.sessions() as session:
            session.add(thread)
            try:
                await session.commit()
                return thread
            except IntegrityError:
                await session.rollback()
        async with self.sessions() as session:
            existing = await session.get(Thread, thread_id)
        if existing is not None and if_exists == "do_nothing":
            return existing
        raise Conflict(f"thread {thread_id} already exists")

    async def get_thread(self, thread_id: str) -> Thread:
        async with self.sessions() as session:
            thread = await session.get(Thread, thread_id)
        if thread is None:
            raise NotFound(f"thread {thread_id} not found")
        return thread

    async def patch_thread(self, thread_id: str, metadata: dict[str, Any] | None) -> Thread:
        async with self.sessions() as session:
            thread = await session.get(Thread, thread_id)
            if thread is None:
                raise NotFound(f"thread {thread_id} not found")
            thread.meta = {**thread.meta, **(metadata or {})}
            thread.updated_at = utcnow()
            await session.commit()
            return thread

    async def delete_thread(self, thread_id: str) -> list[str]:
        """Delete the thread and its runs; returns the ids of runs that were still active."""
        async with self.sessions() as session:
            if await session.get(Thread, thread_id) is None:
                raise NotFound(f"thread {thread_id} not found")
            active = list(
                (
                    await session.execute(
                        select(Run.run_id).where(Run.thread_id == thread_id, Run.status.in_(ACTIVE))
                    )
                ).scalars()
            )
        if active:
            await self.queue.request_cancel(active)
        async with self.sessions() as session:
            await session.execute(delete(Approval).where(Approval.thread_id == thread_id))
            await session.execute(delete(Run).where(Run.thread_id == thread_id))
            await session.execute(delete(Thread).where(Thread.thread_id == thread_id))
            await session.commit()
        return active

    async def search_threads(
        self,
        *,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
        ids: list[str] | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str = "created_at",
        sort_order: str = "desc",
    ) -> list[Thread]:
        column = getattr(
            Thread,
            sort_by
            if sort_by in {"created_at", "updated_at", "thread_id", "status"}
            else "created_at",
        )
        query = select(Thread).order_by(column.asc() if sort_order == "asc" else column.desc())
        if status:
            query = query.where(Thread.status == status)
        if ids:
            query = query.where(Thread.thread_id.in_(ids))
        async with self.sessions() as session:
            threads = list((await session.execute(query)).scalars())
        if metadata:  # JSON containment, evaluated portably (SQLite has no @>)
            threads = [t for t in threads if all(t.meta.get(k) == v for k, v in metadata.items())]
        return threads[offset : offset + limit]

    # -- runs -----------------------------------------------------------------------------------
    async def create_run(
        self, thread_id: str, request: RunRequest, *, if_not_exists: str = "reject"
    ) -> Run:
        """Insert a pending run on ``thread_id`` following its multitask strategy."""
        for _ in range(20):
            run, to_cancel = await self._try_create(thread_id, request, if_not_exists)
            if run is not None:
                if to_cancel:
                    action = "rollback" if request.multitask_strategy == "rollback" else "interrupt"
                    await self.queue.request_cancel(to_cancel, action)
                return run
        raise Conflict(f"thread {thread_id} is changing too fast to accept a run; retry")

    async def _try_create(
        self, thread_id: str, request: RunRequest, if_not_exists: str
    ) -> tuple[Run | None, list[str]]:
        now = utcnow()
        async with self.sessions() as session:
            found = (
                await session.execute(
                    select(THREADS.c.status, THREADS.c.metadata).where(
                        THREADS.c.thread_id == thread_id
                    )
                )
            ).first()
            if found is None:
                if if_not_exists != "create":
                    raise NotFound(f"thread {thread_id} not found")
                await session.execute(
                    insert(THREADS).values(
                        thread_id=thread_id,
                        tenant=request.tenant,
                        status="idle",
                        metadata={},
                        created_at=now,
                        updated_at=now,
                    )
                )
                was, thread_meta = "idle", dict[str, Any]()
            else:
                was, thread_meta = str(found.status), dict(found.metadata or {})
            active = list(
                (
                    await session.execute(
                        select(Run.run_id).where(Run.thread_id == thread_id, Run.status.in_(ACTIVE))
                    )
                ).scalars()
            )
            if active and request.multitask_strategy == "reject":
                raise Conflict(
                    f"thread {thread_id} is busy with run {active[0]}; use multitask_strategy "
                    "'enqueue', 'interrupt' or 'rollback' to run anyway",
                    details={"thread_id": thread_id, "active_runs": active},
                )
            meta = {
                **thread_meta,
                "graph_id": request.graph_id,
                "assistant_id": request.assistant_id,
            }
            flipped = await session.execute(
                update(THREADS)
                .where(THREADS.c.thread_id == thread_id, THREADS.c.status == was)
                .values(status="busy", metadata=meta, updated_at=now)
            )
            if flipped.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()
                return None, []
            row = {
                "run_id": request.run_id,
                "thread_id": thread_id,
                "assistant_id": request.assistant_id,
                "graph_id": request.graph_id,
                "tenant": request.tenant,
                "status": "pending",
                "input": request.input,
                "command": request.command,
                "config": request.config,
                "kwargs": request.kwargs,
                "metadata": request.metadata,
                "multitask_strategy": request.multitask_strategy,
                "attempt": 0,
                "created_at": now,
                "updated_at": now,
            }
            await session.execute(insert(RUNS).values(row))  # Core: no unit-of-work flush
            run = Run(**{"meta" if k == "metadata" else k: v for k, v in row.items()})
            if was == "interrupted":
                pending = (
                    (
                        await session.execute(
                            select(Approval).where(
                                Approval.thread_id == thread_id, Approval.status == "pending"
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
                resume = (request.command or {}).get("resume", _NO_RESUME)
                resolve_pending_approvals(pending, resume, "api", run.run_id)
            await self.queue.commit_and_wake(session, queue_key)
            superseded = request.multitask_strategy in ("interrupt", "rollback")
            return run, active if superseded else []

    async def get_run(self, run_id: str, thread_id: str | None = None) -> Run:
        async with self.sessions() as session:
            run = await session.get(Run, run_id)
        if run is None or (thread_id is not None and run.thread_id != thread_id):
            raise NotFound(f"run {run_id} not found")
        return run

    async def list_runs(
        self, thread_id: str, *, limit: int = 10, offset: int = 0, status: str | None = None
    ) -> list[Run]:
        query = select(Run).where(Run.thread_id == thread_id)
        if status:
            query = query.where(Run.status == status)
        query = query.order_by(Run.created_at.desc()).limit(limit).offset(offset)
        async with self.sessions() as session:
            return list((await session.execute(query)).scalars())

    async def active_run_ids(
        self,
        *,
        thread_id: str | None = None,
        run_ids: list[str] | None = None,
        statuses: Sequence[str] = ACTIVE,
    ) -> list[str]:
        query = select(Run.run_id).where(Run.status.in_(list(statuses)))
        if thread_id:
            query = query.where(Run.thread_id == thread_id)
        if run_ids:
            query = query.where(Run.run_id.in_(run_ids))
        async with self.sessions() as session:
            return list((await session.execute(query)).scalars())

    async def count_active(self, thread_id: str) -> int:
        async with self.sessions() as session:
            return int(
                (
                    await session.execute(
                        select(func.count()).where(
                            Run.thread_id == thread_id, Run.status.in_(ACTIVE)
                        )
                    )
                ).scalar_one()
            )
