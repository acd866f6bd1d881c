"""LangGraph API endpoints Waypost knows but does not serve: a 501 that says so and why.

Without these the official client would get a bare 404 or 405 for, say, ``crons.create`` and its
user would have to guess whether the server, the URL or the feature is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from waypost.runtime.errors import NotSupported

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_COPY = "copying or pruning threads is not supported by the official checkpointers used here"

_UNSUPPORTED: list[tuple[str, str, str, str]] = [
    ("POST", "/threads/{thread_id}/copy", "threads.copy", _COPY),
    ("POST", "/threads/prune", "threads.prune", _COPY),
]


def _refuse(operation: str, why: str) -> Callable[[], Coroutine[Any, Any, None]]:
    async def refuse() -> None:
        raise NotSupported(f"{operation}: {why}", details={"operation": operation})

    return refuse


for _method, _path, _operation, _why in _UNSUPPORTED:
    router.add_api_route(_path, _refuse(_operation, _why), methods=[_method])
