"""``as_langchain_tools``: the registry's tools as LangChain ``StructuredTool`` objects.

For a plain ReAct baseline (``create_react_agent``): each call still goes through
``ToolRegistry.execute``, so validation, typed errors and idempotency behave the same; the
model sees ``ToolOutcome.content`` (the result, or ``Error: <message>`` as in tau2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from pydantic import create_model
from waypost.tools.base import Tool, ToolContext
from waypost.tools.registry import ToolRegistry

__all__ = ["as_langchain_tools"]


def _langchain_tool(
    registry: ToolRegistry, tool: Tool[Any, Any], ctx_factory: Callable[[], ToolContext]
) -> BaseTool:
    # The tool call id is injected by LangChain (hidden from the model): it is the idempotency
    # key of the call, so a replayed ToolNode step does not act twice.
    schema = create_model(
        f"{tool.args_model.__name__}WithCallId",
        __base__=tool.args_model,
        tool_call_id=(Annotated[str, InjectedToolCallId], ...),
    )

    def run(tool_call_id: str, **kwargs: Any) -> str:
        return registry.execute(tool.name, kwargs, ctx_factory(), tool_call_id).content

    return StructuredTool.from_function(
        func=run,
        name=tool.name,
        description=tool.description,
        args_schema=schema,
        infer_schema=False,
    )


def as_langchain_tools(
    registry: ToolRegistry, ctx_factory: Callable[[], ToolContext]
) -> list[BaseTool]:
    """LangChain tools for every tool of ``registry``; ``ctx_factory`` gives each call's context.

    Invoke them with full tool calls (``{"name", "args", "id", "type": "tool_call"}``), as
    LangGraph's ``ToolNode`` does: the call id is required.
    """
    return [_langchain_tool(registry, t, ctx_factory) for t in registry]
