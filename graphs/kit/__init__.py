"""The workflow kit: what every domain workflow is built from.

- turns (``turns``): threads are conversations; per-turn ids, lists and the ``messages`` list;
- approvals (``approvals``): the one approval protocol and the risk-based ``ApprovalPolicy``;
- tools (``tools``): ``ToolRunner``, idempotent per (thread, turn, call), traced and ledgered;
- model steps (``steps``): structured judgement steps over per-step model chains;
- the tool-calling agent step (``agent``).
"""

from waypost.graphs.kit.agent import AgentSettings, AgentState, build_tool_agent
from waypost.graphs.kit.approvals import (
    DECISION_STATUS,
    ApprovalPolicy,
    ApprovalRequest,
    Decision,
    DecisionKind,
    request_approval,
)
from waypost.graphs.kit.steps import (
    StepModelsCaller,
    StructuredCall,
    as_messages,
    configured_routing,
    step_error_usage,
)
from waypost.graphs.kit.tools import RUN_TENANT_KEY, ToolRunner, plain, run_tenant
from waypost.graphs.kit.turns import (
    ConversationState,
    begin_turn,
    end_turn,
    message_text,
    per_turn,
    reset,
    turn_scope,
)

__all__ = [
    "DECISION_STATUS",
    "RUN_TENANT_KEY",
    "AgentSettings",
    "AgentState",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ConversationState",
    "Decision",
    "DecisionKind",
    "StepModelsCaller",
    "StructuredCall",
    "ToolRunner",
    "as_messages",
    "begin_turn",
    "build_tool_agent",
    "configured_routing",
    "end_turn",
    "message_text",
    "per_turn",
    "plain",
    "request_approval",
    "reset",
    "run_tenant",
    "step_error_usage",
    "turn_scope",
]
