"""Buffered event writing: the graph keeps running while its events are stored in batches.

Writing one transaction per stream chunk made event storage the bottleneck of short runs; a
single background flush task drains whatever accumulated since its last write, so a fast graph
costs one or two transactions and a slow one still streams each chunk as it comes. What is still
buffered when the graph ends is handed to the run's settling transaction (``close``) rather than
written in a transaction of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.runs.queue import RunQueue
from runtime.runs.serde import to_jsonable

__all__ = ["EventRow", "EventWriter"]

EventRow = tuple[int, str, Any]  # (seq, event name, JSON data)


class EventWriter:
    """Assigns sequence numbers at emit time and stores events in order, in batches."""

    def __init__(self, queue: RunQueue, run_id: str, first_seq: int) -> None:
        self.queue = queue
        self.run_id = run_id
        self.next_seq = first_seq
        self._buffer: list[EventRow] = []
        self._task: asyncio.Task[None] | None = None

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
        while self._buffer:
            batch, self._buffer = self._buffer, []
            await self.queue.append_events(self.run_id, batch)

    async def close(self) -> list[EventRow]:
        """Wait for the write in flight; return what is left for the caller to store.

        The caller must store the returned events (in order, after everything written so far)
        in the transaction that settles the run, whose commit wakes the run's readers.
        """
        if self._task is not None:
            await self._task
        rest, self._buffer = self._buffer, []
        return rest

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
