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

__all__ = ["find_unstorable", "interrupt_json", "iso", "json_contains", "scrub_text", "to_jsonable"]


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


def _bad_char(text: str) -> str | None:
    """The first NUL or unpaired surrogate in ``text`` (a surrogate in a str is always unpaired)."""
    if "\x00" in text:
        return "NUL"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "unpaired surrogate"
    return None


def find_unstorable(
    obj: Any, path: tuple[str | int, ...] = ()
) -> tuple[str, list[str | int]] | None:
    """Where a JSON value holds text no database stores faithfully, and what is wrong there.

    PostgreSQL refuses NUL in ``text``/``jsonb`` and an unpaired surrogate cannot be encoded as
    UTF-8 at all; SQLite stores both and then fails when the row is read back. Keys count too.
    """
    if isinstance(obj, str):
        problem = _bad_char(obj)
        return (problem, list(path)) if problem else None
    if isinstance(obj, dict):
        for key, value in obj.items():
            problem = _bad_char(str(key))
            if problem:
                return problem, [*path, str(key)]
            found = find_unstorable(value, (*path, str(key)))
            if found:
                return found
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found = find_unstorable(value, (*path, index))
            if found:
                return found
    return None


def _scrub_str(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def scrub_text(obj: Any) -> Any:
    """A copy of a stored JSON value that can always be sent: unpaired surrogates become U+FFFD.

    Rows written before input was checked may hold them; one such row must not make a listing
    fail for every thread.
    """
    if isinstance(obj, str):
        return _scrub_str(obj)
    if isinstance(obj, dict):
        return {_scrub_str(str(k)): scrub_text(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub_text(v) for v in obj]
    return obj


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
