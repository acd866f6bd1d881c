"""The interface between the runner and a workflow under evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from waypost.evals.approvals import ApprovalPolicy
from waypost.evals.dataset import EvalCase
from waypost.evals.models import ModelSetup
from waypost.evals.record import CaseRecord
from waypost.evals.worlds import CaseStore
from waypost.runtime.errors import ConfigError

__all__ = ["CaseRun", "EvalWorkflow", "get_workflow", "workflow_names"]


@dataclass(frozen=True)
class CaseRun:
    """Everything one case's run gets: the case, its private store, models and approvals."""

    case: EvalCase
    store: CaseStore
    initial_db: Mapping[str, Any]
    models: ModelSetup
    approvals: ApprovalPolicy


class EvalWorkflow(Protocol):
    """Runs one case to completion and reports what happened (the runner adds the store diff,
    latency and failure handling)."""

    name: str

    def run(self, run: CaseRun) -> CaseRecord: ...


def workflow_names() -> list[str]:
    return ["retail_support", "react_baseline"]


def get_workflow(name: str, *, planner: str = "model") -> EvalWorkflow:
    """The eval adapter of workflow ``name`` (``planner``: retail planner mode)."""
    if name == "retail_support":
        from waypost.domains.retail.graph import RetailGraphConfig
        from waypost.evals.workflows.retail import RetailSupportWorkflow

        if planner not in ("model", "draft"):
            raise ConfigError("--planner must be 'model' or 'draft'")
        return RetailSupportWorkflow(RetailGraphConfig(planner=planner))  # type: ignore[arg-type]
    if name == "react_baseline":
        from waypost.evals.workflows.react import ReactBaselineWorkflow

        return ReactBaselineWorkflow()
    raise ConfigError(f"no eval adapter for workflow {name!r}; known: {workflow_names()}")
