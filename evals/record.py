"""What one case's run left behind, in a workflow-neutral shape the evaluators read."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["CaseRecord", "ExecutedCall", "StepUsage"]


class ExecutedCall(BaseModel):
    """A consequential tool call the run made (approved and executed)."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    error: str | None = None


class StepUsage(BaseModel):
    """One model-using step (or LLM call) with its token usage."""

    step: str
    model: str | None = None
    route_reason: str | None = None  # why this model served the step (``agents.routing``)
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    error_code: str | None = None  # the step's model failed and it degraded to code


class CaseRecord(BaseModel):
    """The observable outcome of running one case through a workflow.

    ``reply`` is what the customer sees; ``reply_addendum`` is text the oracle's "reply model"
    appended (see ``evals.oracle``), kept apart so reports show it was not the workflow's.
    ``error`` is set when the run failed (exception, model error): the case then fails with it
    as the cause.
    """

    case_id: str
    status: str | None = None
    reply: str = ""
    reply_addendum: str | None = None
    executed: list[ExecutedCall] = Field(default_factory=list)
    proposed: list[ExecutedCall] = Field(
        default_factory=list, description="Calls that reached the approval step."
    )
    violations: list[str] = Field(default_factory=list, description="Validator findings.")
    dropped: list[dict[str, Any]] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    steps: list[StepUsage] = Field(default_factory=list)
    latency_s: float = 0.0
    final_db: dict[str, Any] | None = None
    error: str | None = None
    error_cause: str | None = None
    grounding: dict[str, Any] | None = Field(
        default=None, description="The grounding check of the reply's cited answer, if any."
    )

    @property
    def full_reply(self) -> str:
        return f"{self.reply} {self.reply_addendum}" if self.reply_addendum else self.reply
