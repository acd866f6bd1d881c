"""Durable runs: the tables, the queue, the executor and the worker pool behind the HTTP API."""

from runtime.runs.executor import GraphResolver, RunExecutor, RunHook, run_json
from runtime.runs.models import Approval, Run, RunEvent, Thread
from runtime.runs.queue import TERMINAL, RunQueue, queue_key, run_key
from runtime.runs.signals import PgListener, Signals
from runtime.runs.store import RunRequest, RunStore
from runtime.runs.worker import WorkerPool

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
