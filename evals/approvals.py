"""Who answers the workflow's approval requests during an eval: a fixed policy or the case."""

from __future__ import annotations

from typing import Any, Literal

from waypost.evals.dataset import EvalCase

__all__ = ["ApprovalMode", "ApprovalPolicy"]

ApprovalMode = Literal["approve", "reject", "case"]


class ApprovalPolicy:
    """``approve``/``reject`` answer every request alike; ``case`` follows the case's scripted
    ``approvals`` in order and approves once they run out (or when the case has none)."""

    def __init__(self, mode: ApprovalMode = "case") -> None:
        self.mode = mode

    def decide(self, case: EvalCase, index: int, payload: dict[str, Any]) -> dict[str, Any]:
        """The resume value for the ``index``-th approval request of ``case``."""
        word = "approve"
        if self.mode == "reject":
            word = "reject"
        elif self.mode == "case" and case.approvals and index < len(case.approvals):
            word = case.approvals[index]
        return {
            "decision": word,
            "decided_by": f"eval:{self.mode}",
            "comment": None if word == "approve" else "eval approval policy",
        }
