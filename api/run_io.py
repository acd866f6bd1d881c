"""Waiting on runs and streaming their stored events as SSE, woken by signals (no polling).

Stream format follows the LangGraph server: ``event: metadata`` first, then one event per chunk
(``values``, ``updates``, ``messages``, ...), ``event: error`` on failure and ``event: end`` last.
Each stored event carries ``id: <seq>``, so a client reconnecting with ``Last-Event-ID`` gets only
what it missed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from waypost.runtime.errors import DatabaseError
from waypost.server.models import Run
from waypost.server.queue import TERMINAL, done_key, run_key, thread_key
from waypost.server.services import Services
from waypost.server.signals import Ticket

__all__ = [
    "THREAD_STREAM_MODES",
    "database_error_result",
    "run_result",
    "sse_stream",
    "thread_sse_stream",
    "wait_for_run",
]

SAFETY_WAIT_S = 5.0  # only matters if a cross-process notification is lost
DB_RETRY_S = 3.0  # how long a waiting client rides out a lost database before it is told
THREAD_POLL_S = 0.5  # a run created by another process on a watched thread: found this fast
HEARTBEAT_S = 5.0
THREAD_STREAM_MODES = frozenset({"run_modes", "lifecycle", "state_update"})
_ALWAYS = {"metadata", "error", "end"}


def _sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    lines = [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    return ("\n".join(lines) + "\n\n").encode()


async def wait_for_run(services: Services, run_id: str, ticket: Ticket | None = None) -> Run | None:
    """Block until the run is terminal; None if it was deleted meanwhile.

    ``ticket``: a ``done`` ticket taken before the run was created; the first look at the
    database then waits for its wake-up instead of reading a row that is certainly not done.
    """
    if ticket is not None:
        await ticket.wait(SAFETY_WAIT_S)
    while True:
        ticket = services.signals.ticket(done_key(run_id))
        run = await _read_run(services, run_id)
        if run is None or run.status in TERMINAL:
            return run
        await ticket.wait(SAFETY_WAIT_S)


async def _read_run(services: Services, run_id: str) -> Run | None:
    """The run row, retried briefly while the database is away (bounded by ``DB_RETRY_S``)."""
    deadline = time.monotonic() + DB_RETRY_S
    delay = 0.1
    while True:
        try:
            return await services.queue.get_run(run_id)
        except DatabaseError:
            if time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def database_error_result(exc: DatabaseError) -> dict[str, Any]:
    """What a waiting client gets when the database stays away: a clear error, not a hang."""
    return {"__error__": {"error": "DatabaseUnavailable", "message": exc.message}}


def run_result(run: Run | None) -> Any:
    """What ``runs.wait`` / ``runs.join`` return: final values, or ``{"__error__": ...}``."""
    if run is None:
        return {"__error__": {"error": "RunDeleted", "message": "the run was deleted"}}
    if run.status in ("error", "quota_exceeded"):
        return {"__error__": run.error or {"error": "Error", "message": "run failed"}}
    return run.output if run.output is not None else {}


def _wanted(modes: Iterable[str] | None) -> set[str] | None:
    chosen = {"messages" if m == "messages-tuple" else m for m in (modes or ()) if m}
    return chosen or None  # the SDK sends an empty ``stream_mode=`` meaning "everything"


async def sse_stream(
    services: Services,
    run_id: str,
    *,
    after: int = -1,
    modes: Iterable[str] | None = None,
) -> AsyncIterator[bytes]:
    """Replay events after ``after`` then follow the run live until it ends."""
    try:
        async for chunk in _follow(services, run_id, after, _wanted(modes)):
            yield chunk
    except DatabaseError as exc:  # headers are sent: end the stream with an error event
        yield _sse("error", database_error_result(exc)["__error__"])
        yield b"event: end\ndata: null\n\n"


async def _follow(
    services: Services, run_id: str, after: int, wanted: set[str] | None
) -> AsyncIterator[bytes]:
    cursor = after
    while True:
        ticket = services.signals.ticket(run_key(run_id))
        events = await services.queue.read_events(run_id, cursor)
        for event in events:
            cursor = event.seq
            base = event.event.split("|", 1)[0]
            if wanted is None or base in wanted or base in _ALWAYS:
                yield _sse(event.event, event.data, event.seq)
        if events:
            continue
        run = await _read_run(services, run_id)
        if run is None or run.status in TERMINAL:
            if not await services.queue.read_events(run_id, cursor):
                yield b"event: end\ndata: null\n\n"
                return
            continue
        if not await ticket.wait(SAFETY_WAIT_S):
            yield b": heartbeat\n\n"


def _lifecycle(event: str, data: Any) -> bool:
    """A run's start (``{"run_id", "attempt"}``) or end (``{"status": "run_done"}``)."""
    if event != "metadata" or not isinstance(data, dict):
        return False
    return data.get("status") == "run_done" or ("run_id" in data and "attempt" in data)


async def _wait_any(tickets: list[Ticket], timeout: float) -> bool:
    waiters = [asyncio.ensure_future(t.event.wait()) for t in tickets]
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)


async def thread_sse_stream(
    services: Services, thread_id: str, *, after: int = -1, modes: Iterable[str] = ("run_modes",)
) -> AsyncIterator[bytes]:
    """Every run on the thread, now and next: their events (ids are thread-wide), then
    ``metadata {"status": "run_done", "run_id"}`` as each ends. Never ends on its own.

    ``run_modes``: all run events; ``lifecycle``: only run starts and ends; ``state_update``:
    state updates, which Waypost does not publish (so nothing).
    """
    chosen = set(modes)
    everything = "run_modes" in chosen
    lifecycle = "lifecycle" in chosen
    cursor = after
    running: set[str] = set()  # runs whose events were sent and whose end was not yet
    quiet_since = time.monotonic()
    while True:
        tickets = [services.signals.ticket(thread_key(thread_id))]
        active = await services.queue.active_runs(thread_id)
        tickets += [services.signals.ticket(run_key(r)) for r in active]
        events = await services.queue.read_thread_events(thread_id, cursor)
        for event in events:
            cursor = event.id
            running.add(event.run_id)
            if everything or (lifecycle and _lifecycle(event.event, event.data)):
                yield _sse(event.event, event.data, event.id)
        if events:
            quiet_since = time.monotonic()
            continue
        ended = sorted(running - set(active))  # not active when we looked, all events read
        for run_id in ended:
            running.discard(run_id)
            if everything or lifecycle:
                yield _sse("metadata", {"status": "run_done", "run_id": run_id})
        if ended:
            quiet_since = time.monotonic()
            continue
        woken = await _wait_any(tickets, THREAD_POLL_S)
        if not woken and time.monotonic() - quiet_since >= HEARTBEAT_S:
            quiet_since = time.monotonic()
            yield b": heartbeat\n\n"
