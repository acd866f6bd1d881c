"""Buffered event writing: the graph keeps running while its events are stored in batches.

Writing one transaction per stream chunk made event storage the bottleneck of short runs. Events
are buffered and written by one background task at most every ``flush_s`` (default 20 ms), so a
step that streams hundreds of message chunks costs a few writes, and a run shorter than the
interval writes its events only in the transaction that settles it (``close`` hands back what is
still buffered). Live SSE readers see events at most ``flush_s`` late.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from waypost.server.queue import RunQueue
from waypost.server.serde import to_jsonable

__all__ = ["EventRow", "EventWriter"]

EventRow = tuple[int, str, Any]  # (seq, event name, JSON data)


class EventWriter:
    """Assigns sequence numbers at emit time and stores events in order, in batches."""

    def __init__(self, queue: RunQueue, run_id: str, first_seq: int, flush_s: float = 0.0) -> None:
        self.queue = queue
        self.run_id = run_id
        self.next_seq = first_seq
        self.flush_s = flush_s
        self._buffer: list[EventRow] = []
        self._task: asyncio.Task[None] | None = None  # sleeps, then starts a write
        self._write: asyncio.Future[None] | None = None  # the write in flight

    def buffer(self, event: str, data: Any) -> None:
        """Queue an event without starting a write: it goes out with the next flush."""
        self._buffer.append((self.next_seq, event, to_jsonable(data)))
        self.next_seq += 1

    async def emit(self, event: str, data: Any) -> None:
        self.buffer(event, data)
        if self._task is None or self._task.done():
            if self._task is not None:
                self._task.result()  # surface a failed write instead of losing events silently
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            self._write = asyncio.ensure_future(self.queue.append_events(self.run_id, batch))
            await asyncio.shield(self._write)  # ``close`` may cancel us; never a half-sent write

    async def close(self) -> list[EventRow]:
        """Stop flushing, finish the write in flight; return what is left for the caller.

        The caller must store the returned events (in order, after everything written so far)
        in the transaction that settles the run, whose commit wakes the run's readers.
        """
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        elif self._task is not None:
            self._task.result()
        if self._write is not None:
            await self._write
        rest, self._buffer = self._buffer, []
        return rest

    def abort(self) -> None:
        for task in (self._task, self._write):
            if task is not None:
                task.cancel()
