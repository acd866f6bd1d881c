"""Turn LangGraph stream chunks and state into plain JSON values for storage and SSE.

LangGraph emits tuples, ``Interrupt`` dataclasses, LangChain messages (pydantic models),
``Send``/``Command`` objects and sometimes arbitrary user types; the API stores and sends JSON.
Unknown objects fall back to ``str()`` rather than failing the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["interrupt_json", "iso", "json_contains", "to_jsonable"]


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands datetimes back naive, they are UTC by construction."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def interrupt_json(intr: Any) -> dict[str, Any]:
    """An ``Interrupt`` as the LangGraph API shows it: ``{"value": ..., "id": ...}``."""
    return {"value": to_jsonable(getattr(intr, "value", None)), "id": getattr(intr, "id", None)}


def to_jsonable(obj: Any) -> Any:
    """A JSON-compatible copy of ``obj``."""
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if type(obj).__name__ == "Interrupt" and hasattr(obj, "value"):
        return interrupt_json(obj)
    if isinstance(obj, dt.datetime):
        return iso(obj)
    if isinstance(obj, dt.date | dt.time):
        return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", errors="replace")
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return to_jsonable(dump())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    if hasattr(obj, "_asdict"):
        return to_jsonable(obj._asdict())
    return str(obj)


def json_contains(doc: Any, pattern: Any) -> bool:
    """JSON containment as PostgreSQL's ``@>`` reads it, evaluated in Python for both databases.

    A dict contains a dict whose keys it has with contained values (recursively); a list
    contains a list whose every element it contains; scalars must be equal.
    """
    if isinstance(pattern, Mapping):
        return isinstance(doc, Mapping) and all(
            k in doc and json_contains(doc[k], v) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(doc, list) and all(any(json_contains(d, p) for d in doc) for p in pattern)
    return bool(doc == pattern)
