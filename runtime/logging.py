"""Structured logging: every record carries the current run id (and thread id) when there is one.

``bind_run(run_id=..., thread_id=...)`` sets them for the current context (task or thread);
``configure_logging(json=True)`` emits one JSON object a line for log shippers.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["bind_run", "configure_logging", "current_run_context"]

_run_ctx: ContextVar[dict[str, str]] = ContextVar("waypost_run_ctx", default={})  # noqa: B039


def current_run_context() -> dict[str, str]:
    return dict(_run_ctx.get())


@contextmanager
def bind_run(**fields: str | None) -> Iterator[None]:
    """Attach run fields (run_id, thread_id, workflow...) to every log record in this context."""
    merged = {**_run_ctx.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _run_ctx.set(merged)
    try:
        yield
    finally:
        _run_ctx.reset(token)


class _RunContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _run_ctx.get()
        record.run_ctx = ctx
        record.run_suffix = "".join(f" {k}={v}" for k, v in ctx.items())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "run_ctx", {}),
        }
        extra = getattr(record, "data", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO", *, json_output: bool = False) -> None:
    """Configure the root logger once (idempotent)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_waypost", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._waypost = True  # type: ignore[attr-defined]
    handler.addFilter(_RunContextFilter())
    if json_output:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s%(run_suffix)s")
        )
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "urllib3", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
