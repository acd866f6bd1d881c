"""Wake-ups without polling: in-process asyncio events, PostgreSQL LISTEN/NOTIFY across processes.

Keys are strings: ``"queue"`` (a run became claimable), ``"cancel:<run_id>"`` (stop a running
run), ``"run:<run_id>"`` (a run wrote events) and ``"done:<run_id>"`` (a run finished). Across
processes the first two travel on the workers' channel and the last two on the API's, so a worker
process is not woken for every event of every run, nor an API process for every claim.

A waiter takes a ``Ticket`` *before* reading the database and then waits on it, so a wake-up that
lands between the read and the wait is never lost. Waits take a timeout: it is the safety net for
a lost cross-process notification, not the normal wake-up path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

__all__ = [
    "QUEUE_CHANNEL",
    "RUNS_CHANNEL",
    "PgListener",
    "Signals",
    "Ticket",
    "channel_for",
    "notify_payloads",
]

QUEUE_CHANNEL = "waypost_queue"  # claimable runs and cancellations: what workers wait for
RUNS_CHANNEL = "waypost_runs"  # run events and ends: what API waiters and streams wait for
_MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more


def channel_for(key: str) -> str:
    return QUEUE_CHANNEL if key == "queue" or key.startswith("cancel:") else RUNS_CHANNEL


def notify_payloads(keys: list[str]) -> list[tuple[str, str]]:
    """Wake-up keys packed into as few (channel, payload) NOTIFYs as fit (space-separated)."""
    payloads: list[tuple[str, str]] = []
    for channel in (QUEUE_CHANNEL, RUNS_CHANNEL):
        current = ""
        for key in (k for k in keys if channel_for(k) == channel):
            if current and len(current) + 1 + len(key) > _MAX_PAYLOAD:
                payloads.append((channel, current))
                current = ""
            current = f"{current} {key}" if current else key
        if current:
            payloads.append((channel, current))
    return payloads


log = logging.getLogger(__name__)


@dataclass
class Ticket:
    """A wake-up subscription for one key, taken before the state it guards is read."""

    event: asyncio.Event

    async def wait(self, timeout: float) -> bool:
        """True when woken, False on timeout.

        Built on ``asyncio.wait``, not ``wait_for``: on Python 3.11 ``wait_for`` can swallow a
        cancellation that coincides with the wake-up, and a worker would then never stop.
        """
        if self.event.is_set():
            return True
        waiter = asyncio.ensure_future(self.event.wait())
        try:
            done, _ = await asyncio.wait({waiter}, timeout=timeout)
        finally:
            waiter.cancel()
        return bool(done)


class Signals:
    """Per-key asyncio events. ``wake(key)`` releases every ticket taken for the key so far."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def ticket(self, key: str) -> Ticket:
        event = self._events.get(key)
        if event is None or event.is_set():
            event = asyncio.Event()
            self._events[key] = event
        return Ticket(event)

    def wake(self, key: str) -> None:
        event = self._events.pop(key, None)
        if event is not None:
            event.set()

    def wake_all(self) -> None:
        """Release every ticket (after a lost connection may have dropped notifications)."""
        events, self._events = self._events, {}
        for event in events.values():
            event.set()


class PgListener:
    """LISTENs on ``channels`` and forwards each payload's keys to ``Signals.wake``.

    Other processes (``waypost worker``, other API replicas) ``pg_notify`` inside the
    transaction that made a run claimable or wrote its events, so delivery follows commit. One
    notification carries all the keys of its transaction for its channel, separated by spaces.
    """

    def __init__(
        self,
        conninfo: str,
        signals: Signals,
        channels: tuple[str, ...] = (QUEUE_CHANNEL, RUNS_CHANNEL),
    ) -> None:
        self._conninfo = conninfo
        self._signals = signals
        self._channels = channels
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="waypost-pg-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import psycopg

        backoff = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    for channel in self._channels:
                        await conn.execute(f"LISTEN {channel}")
                    self._ready.set()
                    backoff = 0.5
                    # A reconnect may have missed notifications: wake everyone to re-read.
                    self._signals.wake_all()
                    async for note in conn.notifies():
                        for key in note.payload.split():  # keys of one transaction
                            self._signals.wake(key)
            except asyncio.CancelledError:
                raise
            except Exception:  # the connection dropped: reconnect with bounded backoff
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self._ready.set()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
