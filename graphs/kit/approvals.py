"""The one approval protocol, shared by every workflow, the approvals API and the run store.

A workflow asks with ``request_approval(ApprovalRequest(...))``: the run pauses at a LangGraph
``interrupt()`` whose value carries Waypost's record (tool, arguments, summary, risk, policy
section, details) and the two shapes LangGraph's own UIs render with buttons: LangChain v1's
human-in-the-loop request (``action_requests``, ``review_configs``: Agent Chat UI on GitHub) and
the agent-inbox ``HumanInterrupt`` (``action_request``, ``config``, ``description``: the Agent
Chat UI that ``create-agent-chat-app`` scaffolds from npm, and Agent Inbox). The answer may be
Waypost's decision body (``{"decision": "approve" | "reject" | "edit", "comment",
"arguments"}``), a HITL resume (``{"decisions": [{"type": "approve" | "edit" | "reject", ...}]}``),
an agent-inbox response list (``[{"type": "accept" | "edit" | "ignore" | "response", "args"}]``)
or a bare yes/no; ``Decision.parse`` reads them all. Who decided is set by the server from the
authenticated caller, never taken from the body.

Which calls need approval is decided by risk (``ApprovalPolicy``), not by each graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field
from waypost.tools import RiskLevel, ToolSpec

__all__ = [
    "DECISION_STATUS",
    "ApprovalPolicy",
    "ApprovalRequest",
    "Decision",
    "DecisionKind",
    "request_approval",
]

DecisionKind = Literal["approve", "reject", "edit"]
DECISION_STATUS: dict[str, str] = {"approve": "approved", "reject": "rejected", "edit": "edited"}
"""The approval row's status after each decision."""

_ALL_DECISIONS: tuple[DecisionKind, ...] = ("approve", "edit", "reject")
_YES = {"approve", "approved", "accept", "yes", "y", "ok", "true"}
_EDIT = {"edit", "edited", "respond"}


class Decision(BaseModel):
    """A reviewer's answer to one approval request."""

    model_config = ConfigDict(extra="ignore")

    decision: DecisionKind
    comment: str | None = Field(default=None, max_length=4000)
    arguments: dict[str, Any] | None = Field(
        default=None, description="The edited tool arguments (decision 'edit')."
    )
    decided_by: str | None = Field(default=None, description="Set by the server, not clients.")

    @classmethod
    def parse(cls, answer: Any) -> Decision:
        """Any accepted answer form as a ``Decision``; anything unreadable is a rejection."""
        if isinstance(answer, Decision):
            return answer
        if isinstance(answer, bool):
            return cls(decision="approve" if answer else "reject")
        if isinstance(answer, str):
            word = answer.strip().lower()
            return cls(decision="approve" if word in _YES else "reject")
        if isinstance(answer, dict):
            if isinstance(answer.get("decisions"), list):  # LangChain v1 HITL resume
                first = answer["decisions"][0] if answer["decisions"] else {}
                return cls._from_hitl(first if isinstance(first, dict) else {})
            if "args" in answer and "decision" not in answer:  # one agent-inbox response
                return cls._from_agent_inbox(answer)
            raw = str(answer.get("decision", answer.get("type", answer.get("action", ""))))
            kind = _kind(raw)
            arguments = answer.get("arguments")
            return cls(
                decision=kind,
                comment=answer.get("comment") or answer.get("message"),
                arguments=arguments if isinstance(arguments, dict) else None,
                decided_by=answer.get("decided_by"),
            )
        if isinstance(answer, list) and answer and isinstance(answer[0], dict):
            return cls._from_agent_inbox(answer[0])  # agent-inbox: one response per interrupt
        return cls(decision="reject", comment="unreadable decision")

    @classmethod
    def _from_agent_inbox(cls, item: dict[str, Any]) -> Decision:
        """``{"type": "accept"|"edit"|"ignore"|"response", "args": ...}``: ``edit`` carries
        ``{"action", "args"}``, ``response`` the reviewer's text (the call is not made)."""
        kind = str(item.get("type", "")).strip().lower()
        args = item.get("args")
        if kind == "accept":
            return cls(decision="approve")
        if kind == "edit":
            edited = args.get("args") if isinstance(args, dict) else None
            return cls(decision="edit", arguments=edited if isinstance(edited, dict) else None)
        comment = args if kind == "response" and isinstance(args, str) else None
        return cls(decision="reject", comment=comment or None)

    @classmethod
    def _from_hitl(cls, item: dict[str, Any]) -> Decision:
        kind = _kind(str(item.get("type", "")))
        edited = item.get("edited_action") or {}
        args = edited.get("args") if isinstance(edited, dict) else None
        return cls(
            decision=kind,
            comment=item.get("message"),
            arguments=args if isinstance(args, dict) else None,
        )

    @property
    def status(self) -> str:
        return DECISION_STATUS[self.decision]

    def resume_value(self) -> dict[str, Any]:
        """What a resume carries into the graph."""
        return self.model_dump(mode="json", exclude_none=True)


def _kind(raw: str) -> DecisionKind:
    word = raw.strip().lower()
    if word in _YES:
        return "approve"
    if word in _EDIT:
        return "edit"
    return "reject"


class ApprovalRequest(BaseModel):
    """What a reviewer is asked to decide: one exact tool call, and why it is proposed."""

    type: Literal["tool_approval"] = "tool_approval"
    tool: str
    arguments: dict[str, Any]
    summary: str
    risk: RiskLevel
    call_id: str
    turn_id: str | None = None
    policy: str | None = Field(default=None, description="The policy section that applies.")
    details: dict[str, Any] = Field(
        default_factory=dict, description="Domain facts, e.g. the price difference."
    )
    args_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema of the tool's arguments (edit forms)."
    )
    error: str | None = Field(default=None, description="Why a previous edit was refused.")
    allowed: list[DecisionKind] = Field(default_factory=lambda: list(_ALL_DECISIONS))

    def payload(self) -> dict[str, Any]:
        """The interrupt value: Waypost's record, LangChain v1's HITL request and the
        agent-inbox ``HumanInterrupt`` (``ignore`` and ``response`` both reject the call)."""
        record = self.model_dump(mode="json")
        record["action_requests"] = [
            {"name": self.tool, "args": self.arguments, "description": self.summary}
        ]
        record["review_configs"] = [
            {"action_name": self.tool, "allowed_decisions": list(self.allowed)}
        ]
        record["action_request"] = {"action": self.tool, "args": self.arguments}
        record["config"] = {
            "allow_accept": "approve" in self.allowed,
            "allow_edit": "edit" in self.allowed,
            "allow_ignore": "reject" in self.allowed,
            "allow_respond": "reject" in self.allowed,
        }
        record["description"] = self.summary
        return record


def request_approval(request: ApprovalRequest) -> Decision:
    """Pause the run until a reviewer decides (LangGraph ``interrupt``); returns the decision.

    Code before this call in the same node runs again on resume: keep it free of side effects
    or make them idempotent (``ToolRunner`` does).
    """
    return Decision.parse(interrupt(request.payload()))


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which tool calls pause for a human, by risk level.

    Default: irreversible calls always; write calls when ``write_above`` is set and the call's
    ``amount`` (e.g. USD moved) reaches it. A domain passes its own; an assistant's
    configuration may override it (``ApprovalPolicy.from_config``).
    """

    levels: frozenset[RiskLevel] = frozenset({RiskLevel.IRREVERSIBLE})
    write_above: float | None = None
    amount: Callable[[str, Mapping[str, Any]], float | None] | None = field(
        default=None, compare=False
    )

    def needs_approval(self, spec: ToolSpec, arguments: Mapping[str, Any]) -> bool:
        if spec.risk is RiskLevel.READ:
            return False
        if spec.risk in self.levels:
            return True
        if spec.risk is RiskLevel.WRITE and self.write_above is not None:
            value = self.amount(spec.name, arguments) if self.amount is not None else None
            return value is None or value >= self.write_above
        return False

    def from_config(self, config: Mapping[str, Any] | None) -> ApprovalPolicy:
        """This policy with ``configurable.approval`` overrides (``levels``, ``write_above``)."""
        raw = ((config or {}).get("configurable") or {}).get("approval")
        if not isinstance(raw, dict):
            return self
        levels = self.levels
        if isinstance(raw.get("levels"), list):
            levels = frozenset(
                RiskLevel(x) for x in raw["levels"] if x in RiskLevel._value2member_map_
            )
        write_above = raw.get("write_above", self.write_above)
        return ApprovalPolicy(
            levels=levels,
            write_above=float(write_above) if write_above is not None else None,
            amount=self.amount,
        )
