"""Buffered event writing: the graph keeps running while its events are stored in batches.

Writing one transaction per stream chunk made event storage the bottleneck of short runs; a
single background flush task drains whatever accumulated since its last write, so a fast graph
costs one or two transactions and a slow one still streams each chunk as it comes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.runs.queue import RunQueue
from runtime.runs.serde import to_jsonable

__all__ = ["EventWriter"]


class EventWriter:
    """Assigns sequence numbers at emit time and stores events in order, in batches."""

    def __init__(self, queue: RunQueue, run_id: str, first_seq: int) -> None:
        self.queue = queue
        self.run_id = run_id
        self.next_seq = first_seq
        self._buffer: list[tuple[int, str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def emit(self, event: str, data: Any) -> None:
        self._buffer.append((self.next_seq, event, to_jsonable(data)))
        self.next_seq += 1
        if self._task is None or self._task.done():
            if self._task is not None:
                self._task.result()  # surface a failed write instead of losing events silently
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer, []
            await self.queue.append_events(self.run_id, batch)

    async def close(self) -> None:
        """Store everything emitted so far (call before settling the run)."""
        if self._task is not None:
            await self._task
        if self._buffer:
            await self._flush()

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
