"""The interface between the runner and a workflow under evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from waypost.evals.approvals import ApprovalPolicy
from waypost.evals.dataset import EvalCase
from waypost.evals.models import ModelSetup
from waypost.evals.record import CaseRecord

if TYPE_CHECKING:
    from waypost.evals.adapter import CaseStore, EvalAdapter

__all__ = ["CaseRun", "EvalWorkflow"]


@dataclass(frozen=True)
class CaseRun:
    """Everything one case's run gets: the case, its private store, models and approvals.

    ``turns`` is 1 (the case's whole message at once) or 2 (``input.turns``: the reason for
    the call first; the customer's facts only after the workflow asks).
    """

    case: EvalCase
    store: CaseStore
    initial_db: Mapping[str, Any]
    models: ModelSetup
    approvals: ApprovalPolicy
    turns: int = 1

    def messages(self) -> list[str]:
        """The customer's messages for this run, in order."""
        if self.turns == 2 and self.case.input.turns:
            return list(self.case.input.turns)
        return [self.case.input.message]


class EvalWorkflow(Protocol):
    """Runs one case to completion and reports what happened (the runner adds the store diff,
    latency and failure handling)."""

    name: str
    adapter: EvalAdapter

    def run(self, run: CaseRun) -> CaseRecord: ...
