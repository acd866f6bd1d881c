"""Typed tools: pydantic arguments and results, a risk level, a registry that runs them
idempotently, and an adapter to LangChain tools. Domain tool sets live in subpackages."""

from waypost.tools.base import (
    RiskLevel,
    Tool,
    ToolArgs,
    ToolContext,
    ToolErrorInfo,
    ToolOutcome,
    ToolSpec,
    tool,
)
from waypost.tools.langchain_adapter import as_langchain_tools
from waypost.tools.registry import ToolRegistry

__all__ = [
    "RiskLevel",
    "Tool",
    "ToolArgs",
    "ToolContext",
    "ToolErrorInfo",
    "ToolOutcome",
    "ToolRegistry",
    "ToolSpec",
    "as_langchain_tools",
    "tool",
]
