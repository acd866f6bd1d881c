"""Worker pool: one claim loop per process feeding N execution slots.

``WorkerPool(concurrency=N)`` runs a single dispatcher that waits for a free slot, then claims
the next run and executes it in its own task, plus a reaper for expired leases. The API starts
one in-process (``waypost serve``); ``waypost worker`` runs one as its own process. One claimer
per process means one claim query per wake-up instead of a herd of N idle loops racing for each
new run. An idle dispatcher waits on the ``queue`` signal (set right after a run is enqueued,
re-queued or a thread frees up); its timeout is only a safety net against a lost notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from waypost.server.executor import RunExecutor
from waypost.server.models import Run
from waypost.server.queue import RunQueue, queue_key

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(
        self,
        queue: RunQueue,
        executor: RunExecutor,
        *,
        concurrency: int = 2,
        safety_poll_s: float = 5.0,
    ) -> None:
        self.queue = queue
        self.executor = executor
        self.concurrency = concurrency
        self.safety_poll_s = safety_poll_s
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._free = concurrency  # execution slots not taken by a run
        self._slot_freed = asyncio.Event()

    # -- slots ----------------------------------------------------------------------------------
    async def _acquire(self) -> None:
        while self._free == 0:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        self._free -= 1

    def _release(self) -> None:
        self._free += 1
        self._slot_freed.set()

    # -- direct start (``runtime.runs.store.DirectStart``) ----------------------------------------
    @property
    def lease_s(self) -> float:
        return self.queue.settings.lease_s

    def reserve(self) -> bool:
        """Take a free slot without waiting (False when all are busy or the pool is not running)."""
        if self._stopping or not self._tasks or self._free == 0:
            return False
        self._free -= 1
        return True

    def release(self) -> None:
        self._release()

    def run_reserved(self, run: Run) -> None:
        """Execute a run that was created already claimed by this pool, in its reserved slot."""
        self._spawn(run)

    def _spawn(self, run: Run) -> None:
        task = asyncio.create_task(self._execute(run), name=f"run-{run.run_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def start(self) -> None:
        await self.queue.reap()  # runs orphaned by a crash before we started
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="waypost-dispatcher"),
            asyncio.create_task(self._reaper(), name="waypost-reaper"),
        ]

    async def stop(self) -> None:
        """Stop claiming; runs in flight are handed back to the queue for another worker."""
        self._stopping = True
        for task in [*self._tasks, *self._running]:
            task.cancel()
        for task in [*self._tasks, *self._running]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.executor.drain()

    async def _dispatch(self) -> None:
        """Claim while a slot is free; wait for a wake-up (holding no slot) when nothing is."""
        while not self._stopping:
            await self._acquire()
            ticket = self.queue.signals.ticket(queue_key)
            try:
                run = await self.queue.claim(self.owner)
            except asyncio.CancelledError:
                self._release()
                raise
            except Exception:
                log.exception("claim failed")
                run = None
            if run is not None:
                self._spawn(run)
                continue
            self._release()  # idle: the slot stays free for a run started directly
            await ticket.wait(self.safety_poll_s)

    async def _execute(self, run: Run) -> None:
        try:
            await self.executor.execute(run, self.owner)
        except asyncio.CancelledError:
            raise
        except Exception:  # the executor settles runs itself; this is a bug guard
            log.exception("executor crashed on run %s", run.run_id)
        finally:
            self._release()

    async def _reaper(self) -> None:
        interval = max(self.queue.settings.lease_s / 2, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                if await self.queue.reap():
                    log.warning("re-queued runs with expired leases")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reaper failed")
