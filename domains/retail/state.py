"""Typed state of the retail support workflow: intake, the action plan, decisions, outcomes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema
from waypost.graphs.kit import ConversationState, per_turn

__all__ = [
    "ACTION_TOOLS",
    "Action",
    "ActionKind",
    "Address",
    "CustomerRequest",
    "ExecutedAction",
    "Identity",
    "Intake",
    "RequestKind",
    "RetailInput",
    "RetailOutput",
    "RetailState",
    "StepRecord",
]


class RetailInput(BaseModel):
    """The customer's next message on a thread (a new thread starts a new conversation)."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        min_length=1,
        max_length=8000,
        description="The customer's message: who they are and what they want.",
        examples=[
            "I'm Ada Lovelace, zip 10001. Please cancel order #W1000001, I no longer need it."
        ],
    )


class Address(BaseModel):
    address1: str
    address2: str = ""
    city: str
    state: str
    country: str = "USA"
    zip: str


class Identity(BaseModel):
    """How the customer identified themselves (any subset)."""

    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    user_id: str | None = None


class RequestKind(StrEnum):
    cancel_order = "cancel_order"
    modify_items = "modify_items"
    modify_order_address = "modify_order_address"
    modify_payment = "modify_payment"
    return_items = "return_items"
    exchange_items = "exchange_items"
    modify_user_address = "modify_user_address"
    order_info = "order_info"
    human_agent = "human_agent"
    other = "other"


class PriceCondition(BaseModel):
    """A condition on a price the customer sets for a request: "if it is less than $200"."""

    op: Literal["<", "<=", ">", ">="]
    amount: float

    def holds(self, price: float) -> bool:
        return {
            "<": price < self.amount,
            "<=": price <= self.amount,
            ">": price > self.amount,
            ">=": price >= self.amount,
        }[self.op]

    def __str__(self) -> str:
        words = {"<": "under", "<=": "at most", ">": "over", ">=": "at least"}
        return f"{words[self.op]} ${self.amount:,.2f}"


class CustomerRequest(BaseModel):
    """One thing the customer asks for, in their words (resolved to records by code)."""

    kind: RequestKind
    order_id: str | None = Field(default=None, description="Order id if given, like '#W1234567'.")
    items: list[str] = Field(
        default_factory=list, description="Product names the request is about, e.g. 'desk lamp'."
    )
    wanted: str | None = Field(
        default=None, description="Desired options in the customer's words, e.g. 'red, size L'."
    )
    reason: str | None = Field(default=None, description="Why, in the customer's words.")
    payment: str | None = Field(
        default=None, description="Payment method preference, e.g. 'paypal', 'gift card'."
    )
    all_items: bool = Field(default=False, description="True when every item is meant.")
    # Set by code, never by a model (not in the JSON schema a model answers): the customer asked
    # for this only in case what they asked for first cannot be done ("if it cannot be
    # returned, cancel it"). The resolver uses it only when a first-hand request came to nothing.
    fallback: SkipJsonSchema[bool] = False
    # Set by code: the customer's own words for this request (its clause), so the items it
    # names are told apart from those another request names. None: the whole message.
    said: SkipJsonSchema[str | None] = None
    # Set by code: a price the request depends on ("if it is less than $200, exchange it"):
    # the price of the new item for an item change, of the item itself for a return.
    condition: SkipJsonSchema[PriceCondition | None] = None


class Intake(BaseModel):
    """What the intake step extracts from the case text."""

    identity: Identity = Field(default_factory=Identity)
    requests: list[CustomerRequest] = Field(default_factory=list)
    address: Address | None = Field(default=None, description="A new address, if one is given.")


class ActionKind(StrEnum):
    cancel_order = "cancel_order"
    modify_items = "modify_items"
    modify_order_address = "modify_order_address"
    modify_payment = "modify_payment"
    return_items = "return_items"
    exchange_items = "exchange_items"
    modify_user_address = "modify_user_address"
    transfer = "transfer"


# Action kind -> the store tool that carries it out.
ACTION_TOOLS: dict[ActionKind, str] = {
    ActionKind.cancel_order: "cancel_pending_order",
    ActionKind.modify_items: "modify_pending_order_items",
    ActionKind.modify_order_address: "modify_pending_order_address",
    ActionKind.modify_payment: "modify_pending_order_payment",
    ActionKind.return_items: "return_delivered_order_items",
    ActionKind.exchange_items: "exchange_delivered_order_items",
    ActionKind.modify_user_address: "modify_user_address",
    ActionKind.transfer: "transfer_to_human_agents",
}


class Action(BaseModel):
    """One consequential action of the plan: exactly the arguments its tool will receive."""

    kind: ActionKind
    order_id: str | None = None
    item_ids: list[str] = Field(default_factory=list)
    new_item_ids: list[str] = Field(default_factory=list)
    payment_method_id: str | None = None
    reason: str | None = None
    address: Address | None = None
    summary: str | None = None  # transfer summary

    def with_tool_arguments(self, arguments: dict[str, Any]) -> Action:
        """The action a reviewer's edited tool arguments describe (validated)."""
        fields: dict[str, Any] = {"kind": self.kind}
        for name in (
            "order_id",
            "item_ids",
            "new_item_ids",
            "payment_method_id",
            "reason",
            "summary",
        ):
            if name in arguments:
                fields[name] = arguments[name]
            elif getattr(self, name) is not None:
                fields[name] = getattr(self, name)
        if self.kind in (ActionKind.modify_order_address, ActionKind.modify_user_address):
            base = self.address.model_dump() if self.address else {}
            fields["address"] = Address.model_validate(
                {**base, **{k: v for k, v in arguments.items() if k in Address.model_fields}}
            )
        return Action.model_validate(fields)

    def tool_name(self) -> str:
        return ACTION_TOOLS[self.kind]

    def tool_arguments(self, user_id: str | None) -> dict[str, Any]:
        """The exact arguments of the tool call this action becomes."""
        k = self.kind
        if k is ActionKind.cancel_order:
            return {"order_id": self.order_id, "reason": self.reason}
        if k in (ActionKind.modify_items, ActionKind.exchange_items):
            return {
                "order_id": self.order_id,
                "item_ids": list(self.item_ids),
                "new_item_ids": list(self.new_item_ids),
                "payment_method_id": self.payment_method_id,
            }
        if k is ActionKind.return_items:
            return {
                "order_id": self.order_id,
                "item_ids": list(self.item_ids),
                "payment_method_id": self.payment_method_id,
            }
        if k is ActionKind.modify_payment:
            return {"order_id": self.order_id, "payment_method_id": self.payment_method_id}
        if k is ActionKind.modify_order_address:
            assert self.address is not None
            return {"order_id": self.order_id, **self.address.model_dump()}
        if k is ActionKind.modify_user_address:
            assert self.address is not None
            return {"user_id": user_id, **self.address.model_dump()}
        return {"summary": self.summary or "customer needs a human agent"}


class ExecutedAction(BaseModel):
    action_index: int
    call_id: str | None = None
    tool: str
    arguments: dict[str, Any]
    ok: bool
    result: Any = None
    error_code: str | None = None
    error_message: str | None = None


class StepRecord(BaseModel):
    """Latency and model usage of one step, kept in the run's own state."""

    step: str
    latency_ms: float
    model: str | None = None
    route_reason: str | None = None  # table, default, override, fallback:<code>, cascade:<why>
    input_tokens: int = 0
    output_tokens: int = 0
    attempts: int = 0


Status = Literal[
    "running",
    "completed",
    "needs_identity",
    "needs_clarification",
    "transferred",
    "rejected",
    "nothing_to_do",
]


class RetailState(ConversationState, total=False):
    """One thread's conversation. Per-turn lists start empty at every turn; ``intake`` and the
    customer's identity carry over, so a turn that only answers a question continues the
    request an earlier turn could not finish (``pending``)."""

    intake: dict[str, Any]  # what is known so far: identity, the current turn's requests
    pending: list[dict[str, Any]]  # requests a previous turn asked more about
    user_id: str | None
    user: dict[str, Any] | None
    orders: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]]
    plan: list[dict[str, Any]]
    violations: list[str]
    dropped: list[dict[str, Any]]  # actions dropped after the re-plan bound, with reasons
    notes: list[str]  # parts of the request that could not be resolved to records
    approval_error: str | None  # why a reviewer's edit was refused (shown at the next approval)
    plan_rounds: int
    cursor: int  # index of the next action to approve/execute
    decisions: Annotated[list[dict[str, Any]], per_turn]
    executed: Annotated[list[dict[str, Any]], per_turn]
    status: Status
    reply: str
    steps: Annotated[list[dict[str, Any]], per_turn]
    grounding: dict[str, Any] | None  # the cited catalogue answer's check (knowledge.py)


class RetailOutput(BaseModel):
    """What a finished retail support turn returns."""

    @model_validator(mode="before")
    @classmethod
    def _from_state(cls, data: Any) -> Any:
        """The graph's final state names these ``executed`` and ``decisions``."""
        if not isinstance(data, dict):
            return data
        out = dict(data)
        out.setdefault("actions_executed", [e for e in data.get("executed") or [] if e.get("ok")])
        out.setdefault(
            "actions_rejected",
            [d for d in data.get("decisions") or [] if d.get("decision") == "reject"],
        )
        return out

    status: str
    reply: str
    user_id: str | None = None
    actions_executed: list[ExecutedAction] = Field(default_factory=list)
    actions_rejected: list[dict[str, Any]] = Field(default_factory=list)
    dropped: list[dict[str, Any]] = Field(default_factory=list)
