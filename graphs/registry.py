"""The workflow registry: what the API calls "assistants".

A workflow is a named factory that compiles a LangGraph state machine from its dependencies
(``GraphDeps``). Nothing is built at import time: the API, the CLI and tests each build the graph
with their own checkpointer and models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from waypost.runtime.errors import Conflict, NotFound
from waypost.runtime.settings import Settings

__all__ = ["GraphDeps", "GraphRegistry", "WorkflowSpec", "default_registry"]

ModelFactory = Callable[[str], Any]  # model name -> langchain BaseChatModel


@dataclass(frozen=True)
class GraphDeps:
    """What a workflow factory may use; per-run values come from LangGraph's config."""

    settings: Settings
    checkpointer: BaseCheckpointSaver[Any] | None = None
    session_factory: sessionmaker[Session] | None = None
    model_factory: ModelFactory | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"model": "local:..."}


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    description: str
    build: Callable[[GraphDeps], Any]  # -> CompiledStateGraph
    input_schema: type[BaseModel] | None = None
    output_schema: type[BaseModel] | None = None
    version: str = "1"
    metadata: dict[str, Any] = field(default_factory=dict)
    describe_step: Callable[[str, Any], str] | None = None
    """One line about a node's update, for ``waypost run`` (the CLI knows no workflow)."""


class GraphRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, WorkflowSpec] = {}

    def register(self, spec: WorkflowSpec) -> WorkflowSpec:
        if spec.name in self._specs:
            raise Conflict(f"workflow {spec.name!r} is already registered")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> WorkflowSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise NotFound(
                f"unknown workflow {name!r}", details={"available": sorted(self._specs)}
            ) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[WorkflowSpec]:
        return [self._specs[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._specs


def default_registry() -> GraphRegistry:
    """A registry with the workflows of every installed domain plug-in."""
    from waypost.graphs.plugins import load_domains

    registry = GraphRegistry()
    for domain in load_domains():
        for spec in domain.workflows():
            registry.register(spec)
    return registry
