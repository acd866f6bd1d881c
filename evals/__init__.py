"""Evals: datasets, evaluators, a runner over the real workflows, scorecards and a regression gate.

Entry point: ``waypost eval WORKFLOW --dataset D`` (``evals.cli_run.run_eval``). Nothing in the
product imports this package; it imports graphs, agents, tools and runtime.
"""

from waypost.evals.dataset import EvalCase, load_dataset
from waypost.evals.gate import check_gate
from waypost.evals.runner import CaseResult, run_cases
from waypost.evals.scorecard import Scorecard, build_scorecard

__all__ = [
    "CaseResult",
    "EvalCase",
    "Scorecard",
    "build_scorecard",
    "check_gate",
    "load_dataset",
    "run_cases",
]
