"""Execute one claimed run: stream the graph, record events, settle run, thread and approvals.

The graph comes from a ``GraphResolver`` (graph id -> compiled graph with the app's official
checkpointer); runtime never imports the graph registry. A run that stops at ``interrupt()``
ends ``success`` and leaves its thread ``interrupted`` with one ``approvals`` row per interrupt,
as the LangGraph server reports it. Cancellation arrives through the heartbeat loop: an in-process
wake-up or the ``cancel_requested`` column read by the heartbeat in any process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import psycopg
from langgraph.types import Command
from waypost.graphs.kit.tools import RUN_TENANT_KEY
from waypost.observability.usage import UsageCollector
from waypost.runtime.errors import DatabaseError, QuotaExceeded
from waypost.runtime.logging import bind_run
from waypost.runtime.models import utcnow
from waypost.runtime.rawsql import Tx
from waypost.server import sql
from waypost.server.events import EventRow, EventWriter
from waypost.server.models import Run, Thread
from waypost.server.queue import (
    RunQueue,
    approvals_key,
    cancel_key,
    done_key,
    queue_key,
    run_key,
)
from waypost.server.serde import interrupt_json, to_jsonable
from waypost.server.signals import notify_payloads
from waypost.server.streaming import stream_graph
from waypost.server.webhooks import post_webhook

__all__ = ["GraphResolver", "RunExecutor", "RunHook", "UsageFactory", "run_json"]

# (graph id, tenant) -> the compiled graph, bound to the tenant's view of the store
GraphResolver = Callable[[str, str], Awaitable[Any]]
# The run's one usage collector (ledger sink included): its totals go to the heartbeat and the
# run row, its events to the ledger, and the tracing hook prices generations through it.
UsageFactory = Callable[["Run"], UsageCollector]
# Callbacks that may refuse a model call before it is sent (the tenant's quotas)
GuardFactory = Callable[["Run"], list[Any]]
# Wraps one execution (first run or resume) and may extend its config, e.g. with tracing
# callbacks: ``hook(run, config, usage)`` returns a context manager yielding the config to use.
RunHook = Callable[["Run", dict[str, Any], UsageCollector], AbstractContextManager[dict[str, Any]]]
log = logging.getLogger(__name__)


def run_json(run: Run) -> dict[str, Any]:
    """A run as the LangGraph API returns it (plus Waypost's usage fields)."""
    from waypost.server.serde import iso, scrub_text

    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "status": run.status,
        "metadata": scrub_text(run.meta or {}),
        "multitask_strategy": run.multitask_strategy,
        "kwargs": scrub_text(run.kwargs or {}),
        "assistant_version": run.assistant_version,
    }


class _Outcome:
    def __init__(self) -> None:
        self.status = "success"
        self.error: dict[str, Any] | None = None
        self.cancel_action: str | None = None
        self.lost = False
        self.retry = False  # the database connection broke under it: run it again at once


class RunExecutor:
    """Runs claimed runs to completion, one ``execute`` call per run."""

    def __init__(
        self,
        queue: RunQueue,
        resolve_graph: GraphResolver,
        *,
        usage: UsageFactory | None = None,
        guards: GuardFactory | None = None,
        hook: RunHook | None = None,
    ) -> None:
        self.queue = queue
        self.resolve_graph = resolve_graph
        self.usage = usage or (lambda run: UsageCollector())
        self.guards = guards
        self.hook = hook
        self._background: set[asyncio.Task[Any]] = set()

    async def execute(self, run: Run, owner: str) -> None:
        with bind_run(run_id=run.run_id, thread_id=run.thread_id, workflow=run.graph_id):
            await self._execute(run, owner)

    def _hooked(
        self, run: Run, config: dict[str, Any], usage: UsageCollector
    ) -> AbstractContextManager[dict[str, Any]]:
        return self.hook(run, config, usage) if self.hook is not None else nullcontext(config)

    async def _execute(self, run: Run, owner: str) -> None:
        first_seq = 0 if run.attempt <= 1 else await self.queue.next_seq(run.run_id)
        events = EventWriter(
            self.queue, run.run_id, first_seq, flush_s=self.queue.settings.event_flush_s
        )
        if first_seq == 0:
            # buffered, not flushed alone: it goes out with the first chunk (one write fewer)
            events.buffer("metadata", {"run_id": run.run_id, "attempt": run.attempt})
        usage = self.usage(run)
        outcome = _Outcome()
        graph: Any = None
        config = self._config(run, usage)
        last_values: dict[str, Any] = {"values": None}
        with self._hooked(run, config, usage) as config:
            try:
                graph = await self.resolve_graph(run.graph_id, run.tenant)
                await self._roll_back(graph, run, config)
                stream_input = await self._input(graph, run, config)
                stream_task = asyncio.create_task(
                    stream_graph(graph, stream_input, config, run.kwargs, events.emit, last_values)
                )
            except Exception as exc:  # a graph that cannot be built fails the run, not the worker
                log.exception("run could not start")
                outcome.status, outcome.error = "error", _error_json(exc)
            else:
                try:
                    await self._supervise(run, owner, stream_task, usage, outcome, events)
                except asyncio.CancelledError:  # worker shutdown: hand the run back to the queue
                    stream_task.cancel()
                    events.abort()
                    with contextlib.suppress(BaseException):
                        await stream_task
                    await asyncio.shield(self._release(run, owner))
                    raise
        if outcome.lost:
            log.warning("lease lost; another worker owns the run now")
            return
        if outcome.retry:  # at once, not at lease expiry: it resumes from its last checkpoint
            with contextlib.suppress(Exception):
                await events.close()
            try:
                await self._release(run, owner)
                return
            except Exception:  # still no database: the lease expires and the reaper retries
                log.warning("could not hand the run back", exc_info=True)
                return
        try:
            rest = await events.close()
            await self._settle(run, graph, outcome, usage, last_values["values"], rest)
        except Exception as exc:  # never leave a run "running" because its result was odd
            log.exception("could not record the run's outcome")
            await self._fail(run, exc)

    async def _fail(self, run: Run, exc: Exception) -> None:
        async with self.queue.sessions() as session:
            row = await session.get(Run, run.run_id)
            thread = await session.get(Thread, run.thread_id)
            if row is not None:
                row.status, row.error = "error", _error_json(exc)
                row.finished_at = row.updated_at = utcnow()
                row.lease_owner, row.lease_expires_at = None, None
            if thread is not None:
                thread.status = "error"
            await self.queue.commit_and_wake(
                session, run_key(run.run_id), done_key(run.run_id), queue_key
            )

    def _config(self, run: Run, usage: UsageCollector) -> dict[str, Any]:
        config = dict(run.config or {})
        configurable = {
            **(config.get("configurable") or {}),
            "thread_id": run.thread_id,
            "run_id": run.run_id,
            "assistant_id": run.assistant_id,
            "graph_id": run.graph_id,
            RUN_TENANT_KEY: run.tenant,  # what the run's tools are scoped by; never the client's
        }
        if run.kwargs.get("checkpoint_id"):
            configurable["checkpoint_id"] = run.kwargs["checkpoint_id"]
        config["configurable"] = configurable
        config["metadata"] = {
            **(config.get("metadata") or {}),
            **(run.meta or {}),
            "run_id": run.run_id,
            "run_attempt": run.attempt,
            "assistant_id": run.assistant_id,
            "assistant_version": run.assistant_version,
        }
        guards = self.guards(run) if self.guards is not None else []
        # the guards after the collector: a call's ledger row is written before its hold goes
        config["callbacks"] = [*(config.get("callbacks") or []), usage, *guards]
        config["run_id"] = uuid.UUID(run.run_id)
        return config

    async def _roll_back(self, graph: Any, run: Run, config: dict[str, Any]) -> None:
        """``multitask_strategy="rollback"``: start from the state before the rolled-back runs.

        Their checkpoints are found by the ``run_id`` in their metadata; this run continues from
        the parent of the oldest one, so the thread's state (and the new run's history) no
        longer contains them. A thread that had nothing before them is cleared.
        """
        gone = set(run.kwargs.get("rollback_of") or ())
        saver: Any = getattr(graph, "checkpointer", None)
        if not gone or run.kwargs.get("checkpoint_id") or not hasattr(saver, "alist"):
            return
        thread = {"configurable": {"thread_id": run.thread_id, "checkpoint_ns": ""}}
        oldest = None
        async for item in saver.alist(thread):  # newest first
            owner = (item.metadata or {}).get("run_id")
            if owner == run.run_id:
                return  # a retry of this run: it already started from the right place
            if owner in gone:
                oldest = item
            elif oldest is not None:
                break  # older than every rolled-back checkpoint
        if oldest is None:
            return
        parent = (oldest.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        if parent is None:
            await saver.adelete_thread(run.thread_id)
        else:
            config["configurable"]["checkpoint_id"] = parent

    async def _input(self, graph: Any, run: Run, config: dict[str, Any]) -> Any:
        if run.attempt > 1:  # a retry continues from this run's last checkpoint, if it wrote one
            state = await graph.aget_state({"configurable": {"thread_id": run.thread_id}})
            if (state.metadata or {}).get("run_id") == run.run_id:
                return None
        if run.command:
            cmd = run.command
            return Command(
                resume=cmd.get("resume"), update=cmd.get("update"), goto=cmd.get("goto") or ()
            )
        return run.input

    async def _supervise(
        self,
        run: Run,
        owner: str,
        task: asyncio.Task[None],
        usage: UsageCollector,
        outcome: _Outcome,
        events: EventWriter,
    ) -> None:
        """Heartbeat while the graph streams; cancel it on request or lost lease."""
        beat = self.queue.settings.heartbeat_s
        renewed = time.monotonic()
        while not task.done():
            ticket = self.queue.signals.ticket(cancel_key(run.run_id))
            waiter = asyncio.ensure_future(ticket.event.wait())
            try:
                await asyncio.wait(
                    {task, waiter}, timeout=beat, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                waiter.cancel()
            if task.done():
                break
            try:
                action = await self.queue.heartbeat(
                    run.run_id, owner, usage.totals().as_run_columns()
                )
            except DatabaseError:
                # the database is away: keep running while the lease we hold is still ours;
                # past it another worker may have taken the run, so stop this copy
                if time.monotonic() - renewed < self.queue.settings.lease_s:
                    log.warning("heartbeat failed; retrying at the next beat", exc_info=True)
                    continue
                action = "lost"
            else:
                renewed = time.monotonic()
            if action:
                outcome.lost = action == "lost"
                outcome.cancel_action = None if outcome.lost else action
                task.cancel()
                break
        try:
            await task
        except asyncio.CancelledError:
            if outcome.cancel_action is None and not outcome.lost:
                raise
            outcome.status = "interrupted"
        except Exception as exc:
            if _connection_lost(exc) and run.attempt < self.queue.settings.max_attempts:
                log.warning("database connection lost mid-run; handing the run back: %s", exc)
                outcome.retry = True
                return
            if isinstance(exc, QuotaExceeded):  # stopped at its checkpoint, resumable later
                log.info("run stopped by its tenant's quota: %s", exc)
                outcome.status = "quota_exceeded"
                outcome.error = {"error": "QuotaExceeded", "message": exc.message, **exc.details}
            else:
                log.warning("run failed: %s", exc, exc_info=True)
                outcome.status, outcome.error = "error", _error_json(exc)
            await events.emit("error", outcome.error)

    async def _release(self, run: Run, owner: str) -> None:
        async with self.queue.sessions() as session:
            row = await session.get(Run, run.run_id)
            if row is not None and row.lease_owner == owner and row.status == "running":
                row.status, row.lease_owner, row.lease_expires_at = "pending", None, None
            await self.queue.commit_and_wake(session, queue_key)

    async def _settle(
        self,
        run: Run,
        graph: Any,
        outcome: _Outcome,
        usage: UsageCollector,
        last_values: Any,
        rest: list[EventRow],
    ) -> None:
        """Record the outcome, the last events and the thread's new state in one transaction.

        Raw statements on the database thread (the row count tells whether the run still exists):
        this runs once per run and is on every client's wait path.
        """
        state = None
        if graph is not None and _may_have_paused(graph, run, outcome, last_values):
            try:
                state = await graph.aget_state({"configurable": {"thread_id": run.thread_id}})
            except Exception:
                log.warning("could not read the thread state", exc_info=True)
        interrupts = list(getattr(state, "interrupts", ()) or ())
        if state is not None:
            values = to_jsonable(state.values)
        else:  # it ran to its end: the last values chunk is the thread's state
            values = to_jsonable(last_values) if isinstance(last_values, dict) else None
        output = to_jsonable(last_values) if isinstance(last_values, dict) else values
        if interrupts and isinstance(output, dict):
            output = {**output, "__interrupt__": [interrupt_json(i) for i in interrupts]}
        thread_status = "idle"
        if outcome.status == "error":
            thread_status = "error"
        elif outcome.status == "success" and state is not None and state.next:
            thread_status = "interrupted"
        thread_interrupts = {
            task.id: [interrupt_json(i) for i in task.interrupts]
            for task in (getattr(state, "tasks", ()) or ())
            if task.interrupts
        }
        queue, db = self.queue, self.queue.db
        now = utcnow()
        stamp = db.ts(now)
        done = [run_key(run.run_id), done_key(run.run_id)]
        if outcome.status == "success" and interrupts:
            done.append(approvals_key(run.tenant))  # the console's inbox shows it at once

        finished = {
            "run_id": run.run_id,
            "status": outcome.status,
            "error": db.json(outcome.error),
            "output": db.json(output),
            "now": stamp,
            **usage.totals().as_run_columns(),
        }
        thread = {"thread_id": run.thread_id, "run_id": run.run_id}
        thread_state = {
            **thread,
            "status": thread_status,
            "values": db.json(values),
            "interrupts": db.json(thread_interrupts),
            "now": stamp,
        }

        def settle(tx: Tx) -> list[str] | None:
            if queue.is_postgres:  # one statement for the run, its events and its thread
                (channel, payload), *_ = notify_payloads(done)
                params = {
                    **finished,
                    **queue.event_rows(run.run_id, rest),
                    "thread_id": run.thread_id,
                    "thread_status": thread_status,
                    "values": thread_state["values"],
                    "interrupts": thread_state["interrupts"],
                }
                if not tx.scalar(sql.SETTLE_RUN, params):
                    return None  # the run was deleted while it ran
            else:
                if tx.execute(sql.FINISH_RUN, finished) != 1:
                    return None
                queue.insert_events(tx, run.run_id, rest)
                tx.execute(sql.SETTLE_THREAD, thread_state)
            if outcome.status == "success" and interrupts:
                self._record_approvals(tx, run, interrupts, stamp)
            # Looked for after the thread UPDATE, which waits for a concurrent run creation on
            # this thread to commit: a run enqueued behind this one is seen here, or its
            # creation sees this run finished and wakes the queue itself.
            if queue.is_postgres:  # the look and the run's own wake-up in one round trip
                found = tx.one(
                    sql.WAITING_RUN_AND_NOTIFY, {**thread, "channel": channel, "keys": payload}
                )
                waiting = found is not None and found["waiting"] is not None
            else:
                waiting = tx.one(sql.WAITING_RUN, thread) is not None
            if not waiting:
                return list(done)
            tx.execute(sql.THREAD_BUSY, {**thread, "now": stamp})
            queue.notify_tx(tx, queue_key)
            return [*done, queue_key]

        keys = await db.tx(settle)
        if keys is None:
            return
        run.status, run.updated_at = outcome.status, now
        queue.wake(keys)
        if outcome.cancel_action == "rollback":
            await self.queue.delete_finished([run.run_id])
        if run.kwargs.get("on_completion") == "delete":
            await self._discard_thread(run, graph)
        if run.kwargs.get("webhook"):
            task = asyncio.create_task(
                post_webhook(
                    run.kwargs["webhook"],
                    {
                        **run_json(run),
                        "values": output,
                        "error": outcome.error,
                    },
                )
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _discard_thread(self, run: Run, graph: Any) -> None:
        """A stateless run that asked to leave nothing behind (a cron's ``on_run_completed``
        ``"delete"``): its thread, runs and checkpoints go once it has settled. The usage
        ledger and the trace keep their record of it."""
        try:
            await self.queue.delete_thread_rows(run.thread_id)
            saver: Any = getattr(graph, "checkpointer", None)
            if saver is not None and hasattr(saver, "adelete_thread"):
                await saver.adelete_thread(run.thread_id)
        except Exception:
            log.warning("could not delete the finished run's thread", exc_info=True)

    def _record_approvals(self, tx: Tx, run: Run, interrupts: list[Any], stamp: Any) -> None:
        """One pending approval per new interrupt (a still-pending one is not repeated)."""
        db = self.queue.db
        known = {
            r["interrupt_id"] for r in tx.all(sql.PENDING_INTERRUPTS, {"thread_id": run.thread_id})
        }
        for intr in interrupts:
            if intr.id in known:  # still the same pending action: one approval row
                continue
            approval_id = str(uuid.uuid4())
            value = to_jsonable(intr.value)
            tx.execute(
                sql.INSERT_APPROVAL,
                {
                    "id": approval_id,
                    "run_id": run.run_id,
                    "thread_id": run.thread_id,
                    "tenant": run.tenant,
                    "workflow": run.graph_id,
                    "interrupt_id": intr.id,
                    "payload": db.json(value),
                    "now": stamp,
                },
            )
            arguments = value.get("arguments") if isinstance(value, dict) else None
            tx.execute(  # the audit trail starts with the request
                sql.INSERT_APPROVAL_EVENT,
                {
                    "approval_id": approval_id,
                    "tenant": run.tenant,
                    "event": "requested",
                    "actor": f"workflow:{run.graph_id}",
                    "arguments": db.json(arguments),
                    "now": stamp,
                },
            )

    async def drain(self) -> None:
        """Wait for background webhook deliveries (used at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


def _may_have_paused(graph: Any, run: Run, outcome: _Outcome, last_values: Any) -> bool:
    """Whether settling needs the checkpointed state (a read) rather than the stream's last values.

    A run that succeeded without an ``__interrupt__`` chunk and without static interrupts ran to
    its end; anything else (pauses, errors, cancellations) reads what the checkpoint says.
    """
    if outcome.status != "success" or not isinstance(last_values, dict):
        return True
    if "__interrupt__" in last_values:
        return True
    if run.kwargs.get("interrupt_before") or run.kwargs.get("interrupt_after"):
        return True
    return bool(
        getattr(graph, "interrupt_before_nodes", None)
        or getattr(graph, "interrupt_after_nodes", None)
    )


def _connection_lost(exc: BaseException) -> bool:
    """The database connection broke (restart, killed backend): the work may be retried."""
    return isinstance(exc, DatabaseError | psycopg.OperationalError | sqlite3.OperationalError)


def _error_json(exc: BaseException) -> dict[str, Any]:
    """The run's error as clients see it: database failures are named, not quoted raw."""
    if isinstance(exc, psycopg.DataError):
        return {
            "error": "UnstorableValue",
            "message": "the run produced a value the database cannot store "
            f"(e.g. a NUL character in text): {type(exc).__name__}",
        }
    if _connection_lost(exc):
        return {"error": "DatabaseUnavailable", "message": "the database connection was lost"}
    return {"error": type(exc).__name__, "message": str(exc)}
