"""Workflows an eval can run: ``retail_support`` (the product) and ``react_baseline``."""

from __future__ import annotations

from waypost.evals.workflows.base import CaseRun, EvalWorkflow, get_workflow, workflow_names

__all__ = ["CaseRun", "EvalWorkflow", "get_workflow", "workflow_names"]
