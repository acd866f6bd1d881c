"""The event loop for long-running processes: uvloop when installed (as uvicorn uses it).

``waypost worker`` spends much of its time in loop bookkeeping around database I/O (readers,
futures, thread hand-offs); uvloop does that bookkeeping in C.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on uvloop when it is importable, else on the default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard] on Linux
        return asyncio.run(main)
    return uvloop.run(main)
