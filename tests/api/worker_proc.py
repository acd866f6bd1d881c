"""Start a real ``waypost worker`` subprocess for the multi-process tests and read its output."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


class WorkerProcess:
    """A ``waypost worker --concurrency N --config <langgraph.json>`` child process.

    Its output is pumped by a thread into ``output``; ``ready`` is set once the worker printed
    its ``worker <owner>: ...`` banner (services open, LISTEN connection up, claiming).
    """

    def __init__(self, config: Path, env: Mapping[str, str], concurrency: int = 2) -> None:
        self.output: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from waypost.cli import main; main()",
                "worker",
                "--concurrency",
                str(concurrency),
                "--config",
                str(config),
            ],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def log(self) -> str:
        return "".join(self.output)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith("worker "):
                self.ready.set()

    def stop(self) -> int:
        """SIGTERM (a graceful stop, unless already dead) and the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


@contextmanager
def worker_process(
    config: Path, env: Mapping[str, str], concurrency: int = 2
) -> Iterator[WorkerProcess]:
    """A worker that is stopped (if still alive) when the block ends."""
    worker = WorkerProcess(config, env, concurrency)
    try:
        yield worker
    finally:
        worker.stop()
