"""Map a LangGraph stream onto LangGraph API SSE events.

Requested ``stream_mode``s become event names as the LangGraph server names them: ``values``,
``updates``, ``custom``, ``debug``, ``tasks``, ``checkpoints``, ``messages`` (for both
``messages`` and ``messages-tuple``: a ``[message, metadata]`` pair) and ``events`` (LangChain
``astream_events`` v2). Subgraph events carry their namespace: ``updates|parent:<task id>``.
``values`` is always streamed internally so the run's output is the last state it produced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["SUPPORTED_STREAM_MODES", "context_for", "stream_graph"]

Emit = Callable[[str, Any], Awaitable[None]]
SUPPORTED_STREAM_MODES = frozenset(
    {
        "values",
        "updates",
        "custom",
        "debug",
        "tasks",
        "checkpoints",
        "messages",
        "messages-tuple",
        "events",
    }
)
_LG_MODE = {"messages-tuple": "messages"}


def _requested(kwargs: dict[str, Any]) -> list[str]:
    modes = kwargs.get("stream_mode") or ["values"]
    return [modes] if isinstance(modes, str) else list(modes)


def context_for(graph: Any, context: dict[str, Any]) -> Any:
    """The run's context as the graph's ``context_schema`` accepts it.

    An assistant's context mirrors its ``configurable`` (as on the LangGraph server), so it may
    hold keys a dataclass or pydantic context schema does not declare: those are left out
    rather than failing the run.
    """
    schema = getattr(graph, "context_schema", None)
    fields: Any = None
    if dataclasses.is_dataclass(schema):
        fields = {f.name for f in dataclasses.fields(schema)}
    elif isinstance(schema, type) and hasattr(schema, "model_fields"):
        fields = set(schema.model_fields)
    if fields is None:
        return context
    return {k: v for k, v in context.items() if k in fields}


async def stream_graph(
    graph: Any,
    graph_input: Any,
    config: dict[str, Any],
    kwargs: dict[str, Any],
    emit: Emit,
    last_values: dict[str, Any],
) -> None:
    """Stream ``graph`` and ``emit`` each requested event; keep the last root values chunk."""
    requested = _requested(kwargs)
    wanted = {_LG_MODE.get(m, m) for m in requested if m != "events"}
    lg_modes = sorted(wanted | {"values"})
    subgraphs = bool(kwargs.get("stream_subgraphs"))
    options: dict[str, Any] = {"stream_mode": lg_modes, "subgraphs": subgraphs}
    for key in ("interrupt_before", "interrupt_after"):
        if kwargs.get(key):
            options[key] = kwargs[key]
    if kwargs.get("durability"):
        options["durability"] = kwargs["durability"]
    if kwargs.get("context"):
        options["context"] = context_for(graph, kwargs["context"])

    async def on_chunk(chunk: Any) -> None:
        if subgraphs:
            ns, mode, data = chunk
        else:
            (mode, data), ns = chunk, ()
        if mode == "values" and not ns:
            last_values["values"] = data
        if mode in wanted:
            name = mode if not ns else "|".join([mode, *ns])
            await emit(name, list(data) if mode == "messages" else data)

    if "events" not in requested:
        async for chunk in graph.astream(graph_input, config, **options):
            await on_chunk(chunk)
        return
    async for event in graph.astream_events(graph_input, config, version="v2", **options):
        is_root_stream = event.get("event") == "on_chain_stream" and not event.get("parent_ids")
        if is_root_stream:
            await on_chunk(event["data"]["chunk"])
        else:
            await emit("events", event)
