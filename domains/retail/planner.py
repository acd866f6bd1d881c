"""The planner step: a typed action plan, constrained to the customer's own records.

The plan's JSON schema is built per run: order ids, item ids, new item ids and payment method
ids are enums of the customer's records, so even a small model can only name things that
exist. The model starts from the code-resolved draft and, on a re-plan, from the validator's
reasons. Whether the plan is allowed is decided afterwards by ``validate.py``, not here.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from waypost.domains.retail.state import Action, ActionKind, Address, Intake

__all__ = ["PLANNER_SYSTEM", "plan_context", "plan_messages", "plan_schema", "to_actions"]

PLANNER_SYSTEM = """You are the planner of an online store's support desk. Output the list of
store actions that carry out the customer's requests, following the policy:
- cancel_order: pending orders only; reason is 'no longer needed' or 'ordered by mistake'.
- modify_items (pending) / exchange_items (delivered): item_ids are items of the order,
  new_item_ids are available variants of the SAME product, in the same order as item_ids;
  all items of one order go into ONE action; payment_method_id pays or receives the difference.
- return_items: delivered orders; refund to the original payment method or a gift card.
- modify_payment: pending order, a different payment method.
- modify_order_address / modify_user_address: need the new address.
- transfer: only if the request cannot be done with these actions.
Start from the draft plan. If violations are listed, fix exactly those. Leave out actions the
customer did not ask for."""


_REASON = Literal["no longer needed", "ordered by mistake"]


def _enum(values: list[str]) -> Any:
    unique = sorted(set(values))
    return Literal[tuple(unique)] if unique else str


def plan_schema(
    user: dict[str, Any], orders: dict[str, dict[str, Any]], products: dict[str, dict[str, Any]]
) -> type[BaseModel]:
    """A ``Plan`` model whose ids are enums of this customer's records."""
    item_ids = [it["item_id"] for o in orders.values() for it in o.get("items", [])]
    product_ids = {it["product_id"] for o in orders.values() for it in o.get("items", [])}
    variant_ids = [vid for pid in product_ids for vid in products.get(pid, {}).get("variants", {})]
    order_t = _enum(list(orders))
    item_t = _enum(item_ids)
    new_t = _enum(variant_ids)
    pm_t = _enum(list(user.get("payment_methods", {})))
    planned = create_model(
        "PlannedAction",
        kind=(ActionKind, ...),
        order_id=(order_t | None, None),
        item_ids=(list[item_t], Field(default_factory=list)),  # type: ignore[valid-type]
        new_item_ids=(list[new_t], Field(default_factory=list)),  # type: ignore[valid-type]
        payment_method_id=(pm_t | None, None),
        reason=(_REASON | None, None),
        address=(Address | None, None),
        summary=(str | None, None),
    )
    return create_model("Plan", actions=(list[planned], Field(default_factory=list)))


def to_actions(plan: BaseModel) -> list[Action]:
    return [Action.model_validate(a.model_dump()) for a in getattr(plan, "actions", [])]


def _order_line(order: dict[str, Any]) -> str:
    paid = ", ".join(
        p["payment_method_id"]
        for p in order.get("payment_history", [])
        if p.get("transaction_type") == "payment"
    )
    lines = [f"{order['order_id']} status={order.get('status')} paid_with={paid}"]
    for it in order.get("items", []):
        opts = ", ".join(f"{k}: {v}" for k, v in it.get("options", {}).items())
        lines.append(f"  item {it['item_id']} {it['name']} ({opts}) ${it['price']}")
    return "\n".join(lines)


def plan_context(
    *,
    intake: Intake,
    user: dict[str, Any],
    orders: dict[str, dict[str, Any]],
    products: dict[str, dict[str, Any]],
    draft: list[Action],
    focus_products: set[str],
) -> str:
    """A compact text view of what the planner may use."""
    pms = ", ".join(
        f"{pid} ({pm.get('source')}"
        + (f", balance {pm['balance']}" if "balance" in pm else "")
        + ")"
        for pid, pm in user.get("payment_methods", {}).items()
    )
    parts = [f"Customer {user.get('user_id')}; payment methods: {pms}", "Orders:"]
    parts += [_order_line(o) for o in orders.values()]
    for pid in sorted(focus_products):
        product = products.get(pid)
        if not product:
            continue
        parts.append(f"Available variants of {product['name']}:")
        for vid, v in product.get("variants", {}).items():
            if v.get("available"):
                opts = ", ".join(f"{k}: {val}" for k, val in v.get("options", {}).items())
                parts.append(f"  {vid} ({opts}) ${v['price']}")
    parts.append("Requests: " + json.dumps([r.model_dump(mode="json") for r in intake.requests]))
    parts.append(
        "Draft plan: "
        + json.dumps({"actions": [a.model_dump(mode="json", exclude_none=True) for a in draft]})
    )
    return "\n".join(parts)


def plan_messages(context: str, violations: list[str]) -> list[tuple[str, str]]:
    text = context
    if violations:
        text += "\nViolations of the previous plan, fix them:\n" + "\n".join(
            f"- {v}" for v in violations
        )
    return [("system", PLANNER_SYSTEM), ("human", text)]
