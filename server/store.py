"""Threads and runs: creation with the LangGraph multitask rules, lookup, search, deletion.

Creating a run flips its thread to ``busy`` with a conditional ``UPDATE ... WHERE status = <what
we read>`` in the transaction that inserts the run, so two concurrent creations (or a creation
racing an approval decision) cannot both take an idle or interrupted thread.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Container, Sequence
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from waypost.graphs.kit import Decision
from waypost.observability.metrics import default_metrics
from waypost.runtime.errors import Conflict, NotFound
from waypost.runtime.models import utcnow
from waypost.runtime.rawsql import INTEGRITY_ERRORS, Tx
from waypost.server import sql
from waypost.server.assistants import merge_run_config
from waypost.server.identity import filter_matches
from waypost.server.models import Run, Thread
from waypost.server.queue import RunQueue, queue_key, thread_key
from waypost.server.signals import QUEUE_CHANNEL
from waypost.server.sql import thread_from_row

__all__ = ["DirectStart", "RunRequest", "RunStore", "approval_resolution", "run_kwargs"]

ACTIVE = ("pending", "running")
# keys of a decision body itself (never an interrupt id): Waypost's, HITL's, agent-inbox's
_DECISION_KEYS = frozenset({"decision", "decisions", "type", "action", "args"})
_NO_RESUME: Any = object()


class RunRequest:
    """What a run should do; the API builds it from the request body."""

    def __init__(
        self,
        *,
        assistant_id: str,
        graph_id: str | None = None,
        input: Any = None,
        command: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        multitask_strategy: str = "reject",
        tenant: str = "default",
        run_id: str | None = None,
        thread_metadata: dict[str, Any] | None = None,
        caller: str = "api",
        answers: Sequence[str] = (),
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
        self.thread_metadata = thread_metadata  # a thread created for the run starts with it
        self.caller = caller  # who asked: the decider of approvals a resume resolves
        # the interrupts a resume answers (those of the checkpoint it names): one of them must
        # still be pending, or the decision came after another one and is refused
        self.answers = list(answers)
        self.assistant_version: int | None = None  # set when the run is created
        # what the caller gave, before the assistant's configuration is merged in (a creation
        # that is retried merges again from these, with the assistant as it is then)
        self.given = (graph_id, self.config, self.kwargs)


def run_kwargs(**options: Any) -> dict[str, Any]:
    """A run's execution options (``stream_mode``, ``interrupt_before``, ``context``, ...) as
    the executor reads them from ``Run.kwargs``: unset and empty ones left out."""
    return {k: v for k, v in options.items() if v not in (None, [], False)}


def approval_resolution(resume: Any) -> tuple[str, dict[str, Any]]:
    """How a thread's pending approvals close when it moves on outside the approvals API.

    A ``command.resume`` decides them (its ``decision`` key, if any, names the outcome); new
    input without a resume leaves them moot, so they become ``superseded``.
    """
    if resume is _NO_RESUME:
        return "superseded", {"reason": "the thread received new input"}
    resume_value = resume
    if isinstance(resume, dict) and len(resume) == 1:
        ((key, value),) = resume.items()
        if key not in _DECISION_KEYS and isinstance(value, dict | list | str | bool):
            resume_value = value  # {interrupt id: decision}
    decision = Decision.parse(resume_value)
    # recorded like a decision through the approvals API (decision, comment, arguments), with
    # the resume as the client sent it
    return decision.status, {**decision.resume_value(), "resume": resume}


def _check_answerable(tx: Tx, thread_id: str, was: str, answers: Sequence[str]) -> None:
    """A resume decides the thread's pending approval: refused (409) when there is none any
    more, because another decision (the approvals API, the console, another UI) came first."""
    if was != "interrupted":
        raise Conflict(
            f"thread {thread_id} is not waiting for a decision (it is {was}): its approval was "
            "already decided or it never paused",
            details={"thread_id": thread_id, "status": was},
        )
    if answers:
        pending = {
            r["interrupt_id"] for r in tx.all(sql.PENDING_INTERRUPTS, {"thread_id": thread_id})
        }
        if not pending.intersection(answers):
            raise Conflict(
                f"the interrupt this resume answers on thread {thread_id} was already decided",
                details={"thread_id": thread_id, "interrupt_ids": list(answers)},
            )


class DirectStart(Protocol):
    """In-process worker slots that can take a run the moment it is created (``WorkerPool``)."""

    owner: str

    @property
    def lease_s(self) -> float:
        """Seconds a lease lasts before the reaper may re-queue the run."""

    def reserve(self) -> bool:
        """Take a free slot if there is one, without waiting."""

    def release(self) -> None:
        """Give back a reserved slot that was not used."""

    def run_reserved(self, run: Run) -> None:
        """Execute ``run`` in the reserved slot."""


class _Raced(Exception):
    """The thread changed between our read and our conditional update: try again."""


class RunStore:
    def __init__(self, queue: RunQueue) -> None:
        self.queue = queue
        self.sessions = queue.sessions
        self.db = queue.db
        # set by the process's worker pool: runs that can start at once skip the claim round
        self.direct: DirectStart | None = None
        # graphs this process can run: an assistant of another graph is not found here
        self.known_graphs: Container[str] | None = None

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
        meta = dict(metadata or {})
        params = {
            "thread_id": thread_id,
            "tenant": tenant,
            "metadata": self.db.json(meta),
            "now": self.db.ts(now),
        }
        if await self.db.one_statement(sql.INSERT_THREAD, params) == 1:
            return Thread(
                thread_id=thread_id,
                tenant=tenant,
                status="idle",
                meta=meta,
                values=None,
                interrupts=None,
                created_at=now,
                updated_at=now,
            )
        if if_exists == "do_nothing":
            existing = await self.get_thread(thread_id)
            if existing.tenant == tenant:
                return existing
        raise Conflict(f"thread {thread_id} already exists")

    async def get_thread(self, thread_id: str) -> Thread:
        row = await self.db.tx(
            lambda tx: tx.one(sql.GET_THREAD, {"thread_id": thread_id}), write=False
        )
        if row is None:
            raise NotFound(f"thread {thread_id} not found")
        return thread_from_row(self.db, row)

    async def patch_thread(self, thread_id: str, metadata: dict[str, Any] | None) -> Thread:
        async with self.sessions() as session:
            thread = await session.get(Thread, thread_id)
            if thread is None:
                raise NotFound(f"thread {thread_id} not found")
            thread.meta = {**thread.meta, **(metadata or {})}
            thread.updated_at = utcnow()
            try:
                await session.commit()
            except StaleDataError:  # deleted between our read and our write
                raise NotFound(f"thread {thread_id} not found") from None
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
        await self.queue.delete_thread_rows(thread_id)
        return active

    async def search_threads(
        self,
        *,
        tenant: str = "default",
        access: dict[str, Any] | None = None,
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
        query = (
            select(Thread)
            .where(Thread.tenant == tenant)
            .order_by(column.asc() if sort_order == "asc" else column.desc())
        )
        if status:
            query = query.where(Thread.status == status)
        if ids:
            query = query.where(Thread.thread_id.in_(ids))
        async with self.sessions() as session:
            threads = list((await session.execute(query)).scalars())
        if metadata:  # JSON containment, evaluated portably (SQLite has no @>)
            threads = [t for t in threads if all(t.meta.get(k) == v for k, v in metadata.items())]
        if access:  # a custom auth handler's filter (e.g. only the caller's own threads)
            threads = [t for t in threads if filter_matches(t.meta, access)]
        return threads[offset : offset + limit]

    # -- runs -----------------------------------------------------------------------------------
    async def create_run(
        self,
        thread_id: str,
        request: RunRequest,
        *,
        if_not_exists: str = "reject",
        guard: Callable[[Tx], None] | None = None,
    ) -> Run:
        """Insert a pending run on ``thread_id`` following its multitask strategy.

        ``guard(tx)`` runs first in the creating transaction and may raise to refuse the run
        (a cron claims its fire there, so the claim and the run commit or vanish together).
        """
        for _ in range(20):
            slot = self.direct if self.direct is not None and self.direct.reserve() else None
            try:
                run, to_cancel = await self._try_create(
                    thread_id, request, if_not_exists, slot, guard
                )
            except _Raced:
                if slot is not None:
                    slot.release()
                continue
            except BaseException:
                if slot is not None:
                    slot.release()
                raise
            if slot is not None:
                if run.status == "running":
                    default_metrics().observe_claim_latency(0.0)
                    slot.run_reserved(run)
                else:
                    slot.release()
            self.queue.wake([thread_key(thread_id)])  # thread streams in this process
            if to_cancel:
                action = "rollback" if request.multitask_strategy == "rollback" else "interrupt"
                await self.queue.request_cancel(to_cancel, action)
            return run
        raise Conflict(f"thread {thread_id} is changing too fast to accept a run; retry")

    async def _try_create(
        self,
        thread_id: str,
        request: RunRequest,
        if_not_exists: str,
        slot: DirectStart | None,
        guard: Callable[[Tx], None] | None = None,
    ) -> tuple[Run, list[str]]:
        """One transaction: read the thread, flip it to busy if unchanged, insert the run.

        With a reserved in-process ``slot``, a run that could be claimed at once (its thread has
        no other active run and no run anywhere waits before it) is inserted already running
        under the slot's lease, and no claimer is woken.
        """
        db = self.db
        now = utcnow()
        stamp = db.ts(now)
        lease_until = now + dt.timedelta(seconds=slot.lease_s) if slot is not None else None

        def create(tx: Tx) -> tuple[list[str], dict[str, Any], bool]:
            pg = db.is_postgres
            if guard is not None:
                guard(tx)
            keys = {
                "thread_id": thread_id,
                "assistant_id": request.assistant_id,
                "tenant": request.tenant,
            }
            found = tx.one(sql.THREAD_STATE_PG if pg else sql.THREAD_STATE, keys)
            if pg:  # the assistant came with the thread, in the same round trip
                assistant = found if found is not None and found["a_graph"] is not None else None
                found = found if found is not None and found["status"] is not None else None
            else:
                assistant = tx.one(sql.ASSISTANT_FOR_RUN, keys)
            self._apply_assistant(request, assistant)
            queued: bool | None = None  # whether any run waits in the queue (None: not read)
            if found is None:
                if if_not_exists != "create":
                    raise NotFound(f"thread {thread_id} not found")
                tx.execute(
                    sql.INSERT_THREAD,
                    {
                        "thread_id": thread_id,
                        "tenant": request.tenant,
                        "metadata": db.json(request.thread_metadata or {}),
                        "now": stamp,
                    },
                )
                was, thread_meta = "idle", dict(request.thread_metadata or {})
                active = list[str]()
            else:
                was, thread_meta = str(found["status"]), dict(db.loads(found["metadata"]) or {})
                if pg:  # read with the thread in one round trip
                    active, queued = list(found["active"]), bool(found["queued"])
                else:
                    rows = tx.all(sql.ACTIVE_RUNS, {"thread_id": thread_id})
                    active = [r["run_id"] for r in rows]
            resume = (request.command or {}).get("resume", _NO_RESUME)
            if resume is not _NO_RESUME:
                _check_answerable(tx, thread_id, was, request.answers)
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
            kwargs = request.kwargs
            if active and request.multitask_strategy == "rollback":
                # the executor starts this run from the state before the runs it rolls back
                kwargs = {**kwargs, "rollback_of": active}
            flip = {"thread_id": thread_id, "was": was, "metadata": db.json(meta), "now": stamp}
            if tx.execute(sql.FLIP_THREAD, flip) != 1:
                raise _Raced
            direct = slot is not None and not active
            if direct and queued is None:
                queued = tx.one(sql.ANY_PENDING) is not None
            direct = direct and not queued
            # claimable now: wake a claimer (else the run ahead's end, or nobody: started here)
            wake = not (active or direct)
            if direct:
                insert = sql.INSERT_RUNNING_RUN
            else:
                insert = sql.INSERT_RUN_AND_NOTIFY if pg and wake else sql.INSERT_RUN
            tx.execute(
                insert,
                {
                    "channel": QUEUE_CHANNEL,
                    "keys": queue_key,
                    "owner": slot.owner if slot is not None else None,
                    "lease": db.ts(lease_until),
                    "run_id": request.run_id,
                    "thread_id": thread_id,
                    "assistant_id": request.assistant_id,
                    "graph_id": request.graph_id,
                    "assistant_version": request.assistant_version,
                    "tenant": request.tenant,
                    "input": db.json(request.input),
                    "command": db.json(request.command),
                    "config": db.json(request.config),
                    "kwargs": db.json(kwargs),
                    "metadata": db.json(request.metadata),
                    "multitask_strategy": request.multitask_strategy,
                    "now": stamp,
                },
            )
            if was == "interrupted":
                status, decision = approval_resolution(resume)
                tx.execute(
                    sql.RESOLVE_APPROVALS,
                    {
                        "thread_id": thread_id,
                        "status": status,
                        "decision": db.json(decision),
                        "decided_by": request.caller,
                        "now": stamp,
                        "run_id": request.run_id,
                    },
                )
                tx.execute(
                    sql.RESOLVED_APPROVAL_EVENTS,
                    {
                        "thread_id": thread_id,
                        "run_id": request.run_id,
                        "event": status,
                        "actor": request.caller,
                        "now": stamp,
                    },
                )
            return active, kwargs, direct

        try:
            active, kwargs, direct = await db.tx(create)
        except INTEGRITY_ERRORS as exc:  # e.g. a run of the thread started meanwhile elsewhere
            raise _Raced from exc
        if not (active or direct):
            self.queue.wake([queue_key])
        run = Run(
            run_id=request.run_id,
            thread_id=thread_id,
            assistant_id=request.assistant_id,
            graph_id=request.graph_id,
            assistant_version=request.assistant_version,
            tenant=request.tenant,
            status="running" if direct else "pending",
            input=request.input,
            command=request.command,
            config=request.config,
            kwargs=kwargs,
            meta=request.metadata,
            multitask_strategy=request.multitask_strategy,
            attempt=1 if direct else 0,
            lease_owner=slot.owner if direct and slot is not None else None,
            lease_expires_at=lease_until if direct else None,
            started_at=now if direct else None,
            heartbeat_at=now if direct else None,
            created_at=now,
            updated_at=now,
        )
        superseded = request.multitask_strategy in ("interrupt", "rollback")
        return run, active if superseded else []

    def _apply_assistant(self, request: RunRequest, found: dict[str, Any] | None) -> None:
        """Resolve the run's graph and configuration from its assistant's current version.

        The assistant's ``config`` and ``context`` are the base the run's own override key by
        key; the version number is recorded on the run. A run whose assistant has no row (a
        caller that names the graph itself, e.g. a resume of an older run) keeps what it has.
        """
        given_graph, given_config, given_kwargs = request.given
        if found is None:
            if given_graph is None:
                raise NotFound(f"assistant {request.assistant_id} not found")
            request.graph_id, request.config, request.kwargs = request.given
            request.assistant_version = None
            return
        graph_id = str(found["a_graph"])
        if self.known_graphs is not None and graph_id not in self.known_graphs:
            raise NotFound(f"assistant {request.assistant_id} not found (graph {graph_id})")
        db = self.db
        config, context = merge_run_config(
            db.loads(found["a_config"]) or {},
            db.loads(found["a_context"]) or {},
            given_config,
            given_kwargs.get("context"),
        )
        request.graph_id, request.config = graph_id, config
        request.kwargs = given_kwargs if context is None else {**given_kwargs, "context": context}
        request.assistant_version = int(found["a_version"])

    async def get_run(self, run_id: str, thread_id: str | None = None) -> Run:
        run = await self.queue.get_run(run_id)
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
        assistant_id: str | None = None,
        tenant: str | None = None,
    ) -> list[str]:
        query = select(Run.run_id).where(Run.status.in_(list(statuses)))
        if tenant is not None:
            query = query.where(Run.tenant == tenant)
        if thread_id:
            query = query.where(Run.thread_id == thread_id)
        if assistant_id:
            query = query.where(Run.assistant_id == assistant_id)
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
