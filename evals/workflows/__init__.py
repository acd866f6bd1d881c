"""The interface between the runner and a workflow under evaluation (domains provide them)."""

from __future__ import annotations

from waypost.evals.adapter import get_workflow, workflow_names
from waypost.evals.workflows.base import CaseRun, EvalWorkflow

__all__ = ["CaseRun", "EvalWorkflow", "get_workflow", "workflow_names"]
