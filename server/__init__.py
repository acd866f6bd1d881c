"""Durable runs: the tables, the queue, the executor and the worker pool behind the HTTP API."""

from waypost.server.executor import GraphResolver, RunExecutor, RunHook, run_json
from waypost.server.models import Approval, Run, RunEvent, Thread
from waypost.server.queue import TERMINAL, RunQueue, queue_key, run_key
from waypost.server.signals import PgListener, Signals
from waypost.server.store import RunRequest, RunStore
from waypost.server.worker import WorkerPool

__all__ = [
    "TERMINAL",
    "Approval",
    "GraphResolver",
    "PgListener",
    "Run",
    "RunEvent",
    "RunExecutor",
    "RunHook",
    "RunQueue",
    "RunRequest",
    "RunStore",
    "Signals",
    "Thread",
    "WorkerPool",
    "queue_key",
    "run_json",
    "run_key",
]
