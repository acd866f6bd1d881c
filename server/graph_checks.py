"""Checks of a request against the compiled graph, so bad input is refused before it is stored.

LangGraph itself is lenient in ways that lose data or fail late: a run from an unknown
``checkpoint_id`` starts from an empty state and becomes the thread's head, ``interrupt_before``
with an unknown node is ignored, an unknown ``as_node`` or a value its reducer cannot take raises
deep inside ``update_state``. Each check here turns that into a 4xx with a stable code.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError
from waypost.runtime.errors import CheckpointNotFound, InvalidUpdate, ValidationFailed

__all__ = [
    "graph_input_errors",
    "require_checkpoint",
    "require_nodes",
    "update_state",
]

# reserved node names LangGraph accepts for ``as_node`` besides the graph's own nodes
_SPECIAL_NODES = frozenset({"__start__", "__end__", "__input__", "__copy__"})
# the channel of a checkpoint's pending interrupt writes (private in LangGraph since 1.0)
_INTERRUPT = "__interrupt__"


def _nodes(graph: Any) -> list[str]:
    return sorted(n for n in getattr(graph, "nodes", {}) if n != "__start__")


def require_nodes(graph: Any, names: Iterable[str] | str | None, field: str) -> None:
    """Every name in ``names`` is a node of ``graph`` (``"*"`` means all of them)."""
    if names is None or names == "*":
        return
    known = set(getattr(graph, "nodes", {}))
    unknown = sorted(set([names] if isinstance(names, str) else names) - known)
    if unknown:
        raise ValidationFailed(
            f"{field}: unknown node(s) {unknown}; the graph has {_nodes(graph)}",
            details={"field": field, "unknown": unknown, "nodes": _nodes(graph)},
        )


async def require_checkpoint(checkpointer: Any, thread_id: str, checkpoint_id: str) -> list[str]:
    """404 ``checkpoint_not_found`` unless the thread has this checkpoint; returns the ids of
    the interrupts pending at it (what a resume from it answers)."""
    config = {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": checkpoint_id,
        }
    }
    found = await checkpointer.aget_tuple(config)
    if found is None:
        raise CheckpointNotFound(
            f"thread {thread_id} has no checkpoint {checkpoint_id}",
            details={"thread_id": thread_id, "checkpoint_id": checkpoint_id},
        )
    return [
        str(item.id)
        for _task, channel, value in found.pending_writes or ()
        if channel == _INTERRUPT
        for item in (value if isinstance(value, list | tuple) else [value])
        if getattr(item, "id", None)
    ]


async def update_state(graph: Any, config: dict[str, Any], values: Any, as_node: str | None) -> Any:
    """``graph.aupdate_state`` with its refusals as 422 ``invalid_state_update``.

    Unknown keys are refused too: LangGraph drops them silently, so the caller would believe
    they were written.
    """
    if (
        as_node is not None
        and as_node not in getattr(graph, "nodes", {})
        and (as_node not in _SPECIAL_NODES)
    ):
        raise InvalidUpdate(
            f"as_node: unknown node {as_node!r}; the graph has {_nodes(graph)}",
            details={"as_node": as_node, "nodes": _nodes(graph)},
        )
    if isinstance(values, dict):
        channels = set(getattr(graph, "channels", {}))
        unknown = sorted(k for k in values if k not in channels)
        if channels and unknown:
            raise InvalidUpdate(
                f"values: unknown key(s) {unknown} for this graph's state",
                details={"unknown": unknown},
            )
    from langgraph.errors import InvalidUpdateError

    try:
        return await graph.aupdate_state(config, values, as_node=as_node)
    except (InvalidUpdateError, TypeError, ValueError, KeyError, AttributeError) as exc:
        # a reducer or the state schema refused the values; nothing was written
        raise InvalidUpdate(
            f"the graph cannot apply these values: {type(exc).__name__}: {exc}",
            details={"error": type(exc).__name__},
        ) from exc


def _input_schema(graph: Any) -> Any:
    builder = getattr(graph, "builder", None)
    return getattr(builder, "input_schema", None) or getattr(builder, "state_schema", None)


def _mentions_messages(hint: Any) -> bool:
    """Message fields are coerced by LangGraph (dicts, tuples, strings): not checked here."""
    return "Message" in repr(hint)


def graph_input_errors(graph: Any, payload: Any) -> list[dict[str, Any]]:
    """Why ``payload`` does not fit the graph's input schema (empty when it fits).

    Unknown keys and values of the wrong type are reported; fields LangGraph coerces itself
    (messages) and types pydantic cannot check are left to the graph.
    """
    if not isinstance(payload, dict):
        return [{"loc": ["body"], "msg": "the input must be a JSON object"}]
    schema = _input_schema(graph)
    try:
        hints = typing.get_type_hints(schema) if schema is not None else {}
    except Exception:  # forward references the module cannot resolve: no check possible
        return []
    if not hints:
        return []
    errors: list[dict[str, Any]] = []
    for key, value in payload.items():
        if key not in hints:
            errors.append({"loc": ["body", key], "msg": "unknown field", "known": sorted(hints)})
            continue
        if _mentions_messages(hints[key]):
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hints[key])
        except Exception:  # not a type pydantic can validate
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            errors.append({"loc": ["body", key], "msg": exc.errors()[0]["msg"]})
    return errors
