"""What a domain brings to evals: its eval workflows, fresh stores per case, its consequential
tools and its oracles. The generic harness (datasets, runner, evaluators, scorecards, gate)
names no domain; a domain points at its ``EvalAdapter`` from its ``Domain.eval_adapter``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session, sessionmaker
from waypost.graphs.plugins import load_domains, load_object
from waypost.runtime.errors import ConfigError

if TYPE_CHECKING:
    from waypost.evals.dataset import EvalCase
    from waypost.evals.workflows import EvalWorkflow
    from waypost.graphs.kit import StructuredCall

__all__ = [
    "CaseStore",
    "EvalAdapter",
    "WorkflowOptions",
    "WorldProvider",
    "adapter_for",
    "adapters",
    "get_workflow",
    "workflow_names",
]


class CaseStore(Protocol):
    """One case's private store: where the workflow acts, and its content afterwards."""

    session_factory: sessionmaker[Session]

    def export(self) -> dict[str, Any]: ...


class WorldProvider(Protocol):
    """Fresh stores per case, built from the named world (each case starts from the same bytes)."""

    def initial(self, world: str) -> Mapping[str, Any]: ...

    def fresh(self, world: str, name: str) -> AbstractContextManager[CaseStore]: ...


@dataclass(frozen=True)
class WorkflowOptions:
    """Per-eval knobs a workflow may read (e.g. ``planner`` for retail_support)."""

    planner: str = "model"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalAdapter:
    domain: str
    workflows: Mapping[str, Callable[[WorkflowOptions], EvalWorkflow]]
    worlds: Callable[[Path], WorldProvider]
    consequential_tools: frozenset[str]
    """Tools whose calls change the world: what trajectory matching compares."""
    escalation_tool: str | None = None
    """The tool that hands the case to a person (``escalation`` evaluator)."""
    oracles: Mapping[str, Callable[[EvalCase, Mapping[str, Any]], StructuredCall]] = field(
        default_factory=dict
    )
    """Scripted model setups that answer from the case (``scripted:gold``...)."""
    oracle_addendum: Callable[[EvalCase, str], str | None] | None = None


@functools.cache
def adapters() -> tuple[EvalAdapter, ...]:
    """The eval adapters of every installed domain that has one."""
    found = []
    for domain in load_domains():
        if domain.eval_adapter:
            adapter = load_object(domain.eval_adapter)
            if not isinstance(adapter, EvalAdapter):
                raise ConfigError(f"{domain.eval_adapter} is not an EvalAdapter")
            found.append(adapter)
    return tuple(found)


def workflow_names() -> list[str]:
    return sorted(name for a in adapters() for name in a.workflows)


def adapter_for(workflow: str) -> EvalAdapter:
    for adapter in adapters():
        if workflow in adapter.workflows:
            return adapter
    raise ConfigError(f"no eval adapter for workflow {workflow!r}; known: {workflow_names()}")


def get_workflow(name: str, *, planner: str = "model", **extra: Any) -> EvalWorkflow:
    """The eval workflow called ``name``, from the domain that provides it."""
    return adapter_for(name).workflows[name](WorkflowOptions(planner=planner, extra=extra))
