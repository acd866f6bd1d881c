"""``observe_tool_call``: report a tool call made directly from a graph node to the callbacks.

Nodes that call tools themselves (not through a LangChain ``BaseTool``) are invisible to
callback handlers. Wrapping the call in this context manager emits LangChain's standard
``on_tool_start`` / ``on_tool_end`` / ``on_tool_error`` on the node's callback manager, so the
Langfuse handler records a ``tool`` observation (arguments in, result out) under the node and
the ledger collector writes a tool row. Outside a run (no callbacks in context) it does nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables.config import (
    get_callback_manager_for_config,
    var_child_runnable_config,
)

__all__ = ["ToolCallObservation", "observe_tool_call"]


@dataclass
class ToolCallObservation:
    """Filled in by the caller: the result, or the error code when the tool failed."""

    output: Any = None
    error_code: str | None = None
    error_message: str | None = None
    tool_call_id: str = ""

    def finish(
        self, output: Any, *, error_code: str | None = None, error_message: str | None = None
    ) -> None:
        self.output, self.error_code, self.error_message = output, error_code, error_message


@contextmanager
def observe_tool_call(
    name: str, arguments: Mapping[str, Any], *, tool_call_id: str = ""
) -> Iterator[ToolCallObservation]:
    """Wrap one tool call; call ``obs.finish(result, error_code=...)`` inside the block."""
    obs = ToolCallObservation(tool_call_id=tool_call_id)
    config = var_child_runnable_config.get()
    if not config or not config.get("callbacks"):
        yield obs
        return
    manager = get_callback_manager_for_config(config)
    run = manager.on_tool_start(
        {"name": name},
        json.dumps(dict(arguments), default=str),
        inputs=dict(arguments),
        name=name,
    )
    try:
        yield obs
    except BaseException as exc:
        run.on_tool_error(exc)
        raise
    # A ToolMessage with status "error" is how LangChain's ToolNode reports a failed call;
    # Langfuse marks the observation as an error and the ledger reads the code from it.
    run.on_tool_end(
        ToolMessage(
            content=json.dumps(obs.output, default=str),
            tool_call_id=tool_call_id or name,
            name=name,
            status="error" if obs.error_code else "success",
            artifact={
                "error_code": obs.error_code,
                "error_message": obs.error_message,
                "result": obs.output,
            },
        )
    )
