"""Policy validation of a plan, in code: the LLM proposes, this decides.

Checks every action against the store snapshot gathered for the run (order status, ownership,
same product type, availability, payment method ownership, gift card balance, one
modify/exchange per order) and against the actions before it in the plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from waypost.domains.retail.state import Action, ActionKind

__all__ = ["CANCEL_REASONS", "Violation", "price_difference", "validate_plan"]

CANCEL_REASONS = ("no longer needed", "ordered by mistake")
_PENDING_KINDS = {
    ActionKind.cancel_order: "§5.1",
    ActionKind.modify_items: "§6.1",
    ActionKind.modify_order_address: "§6.1",
    ActionKind.modify_payment: "§6.1",
}
_DELIVERED_KINDS = {ActionKind.return_items: "§7.1", ActionKind.exchange_items: "§8.1"}


@dataclass(frozen=True)
class Violation:
    action_index: int
    code: str
    message: str
    section: str

    def __str__(self) -> str:
        return f"action {self.action_index}: {self.message} (policy {self.section})"


def price_difference(action: Action, order: dict[str, Any], products: dict[str, Any]) -> float:
    """New items' total minus old items' total (positive: the customer pays)."""
    by_id = {it["item_id"]: it for it in order.get("items", [])}
    diff = 0.0
    for old, new in zip(action.item_ids, action.new_item_ids, strict=False):
        old_item = by_id.get(old)
        if old_item is None:
            continue
        variant = products.get(old_item["product_id"], {}).get("variants", {}).get(new)
        if variant is not None:
            diff += float(variant["price"]) - float(old_item["price"])
    return round(diff, 2)


def validate_plan(
    plan: list[Action],
    *,
    user: dict[str, Any],
    orders: dict[str, dict[str, Any]],
    products: dict[str, dict[str, Any]],
) -> list[Violation]:
    """Every policy violation of ``plan``; empty means the plan may go to approval."""
    out: list[Violation] = []
    touched: dict[str, list[ActionKind]] = {}
    methods = user.get("payment_methods", {})
    for i, action in enumerate(plan):

        def bad(code: str, message: str, section: str, *, _i: int = i) -> None:
            out.append(Violation(_i, code, message, section))

        kind = action.kind
        if kind in (ActionKind.transfer, ActionKind.modify_user_address):
            if kind is ActionKind.modify_user_address and action.address is None:
                bad("missing_address", "a new address is required", "§1.3")
            continue
        order = orders.get(action.order_id or "")
        if order is None:
            bad("unknown_order", f"order {action.order_id!r} is not one of the customer's", "§2.2")
            continue
        if order.get("user_id") not in (None, user.get("user_id")):
            bad("not_owner", f"order {action.order_id} belongs to another customer", "§2.2")
            continue
        status = order.get("status")
        earlier = touched.setdefault(order["order_id"], [])
        if kind in _PENDING_KINDS:
            if status != "pending":
                bad(
                    "order_not_pending",
                    f"order {action.order_id} is {status!r}, not pending",
                    _PENDING_KINDS[kind],
                )
            if ActionKind.modify_items in earlier or ActionKind.cancel_order in earlier:
                bad(
                    "order_already_changed",
                    f"order {action.order_id} already has its items modified or is cancelled "
                    "earlier in this plan",
                    "§6.3",
                )
        if kind in _DELIVERED_KINDS:
            if status != "delivered":
                bad(
                    "order_not_delivered",
                    f"order {action.order_id} is {status!r}, not delivered",
                    _DELIVERED_KINDS[kind],
                )
            if ActionKind.return_items in earlier or ActionKind.exchange_items in earlier:
                bad(
                    "order_already_changed",
                    f"order {action.order_id} already has a return or exchange in this plan; "
                    "put every item into one action",
                    "§4.2",
                )
        if kind is ActionKind.modify_items and ActionKind.modify_items in earlier:
            bad(
                "one_modify_per_order",
                "items of an order can be modified only once; combine them into one action",
                "§4.2",
            )
        earlier.append(kind)

        if kind is ActionKind.cancel_order and action.reason not in CANCEL_REASONS:
            bad(
                "bad_cancel_reason",
                f"cancellation reason must be one of {list(CANCEL_REASONS)}",
                "§5.2",
            )
        if kind in (ActionKind.return_items, ActionKind.exchange_items, ActionKind.modify_items):
            _check_items(action, order, products, bad)
        if kind in (
            ActionKind.return_items,
            ActionKind.exchange_items,
            ActionKind.modify_items,
            ActionKind.modify_payment,
        ):
            _check_payment(action, order, products, methods, bad)
        if kind is ActionKind.modify_order_address and action.address is None:
            bad("missing_address", "a new shipping address is required", "§6.1")
    return out


def _check_items(action: Action, order: dict[str, Any], products: dict[str, Any], bad: Any) -> None:
    if not action.item_ids:
        bad("no_items", "the action names no items", "§7.2")
        return
    have = Counter(it["item_id"] for it in order.get("items", []))
    want = Counter(action.item_ids)
    for item_id, n in want.items():
        if have[item_id] < n:
            bad("item_not_in_order", f"item {item_id} is not in order {action.order_id}", "§7.2")
    if action.kind is ActionKind.return_items:
        return
    if len(action.new_item_ids) != len(action.item_ids):
        bad("new_items_mismatch", "each item needs exactly one new item", "§8.2")
        return
    by_id = {it["item_id"]: it for it in order.get("items", [])}
    for old, new in zip(action.item_ids, action.new_item_ids, strict=True):
        old_item = by_id.get(old)
        if old_item is None:
            continue
        variants = products.get(old_item["product_id"], {}).get("variants", {})
        variant = variants.get(new)
        if variant is None:
            bad(
                "different_product",
                f"new item {new} is not a variant of {old_item['name']} (no change of product "
                "type)",
                "§8.2",
            )
        elif not variant.get("available", False):
            bad("item_unavailable", f"new item {new} is not available", "§8.2")
        elif new == old:
            bad("same_item", f"new item {new} is the same as the current item", "§8.2")


def _check_payment(
    action: Action,
    order: dict[str, Any],
    products: dict[str, Any],
    methods: dict[str, Any],
    bad: Any,
) -> None:
    pm_id = action.payment_method_id
    method = methods.get(pm_id or "")
    if pm_id is None:
        bad("missing_payment_method", "no payment method was named for it", "§6.2")
        return
    if method is None:
        bad(
            "unknown_payment_method",
            f"payment method {pm_id!r} is not one of the customer's",
            "§6.2",
        )
        return
    history = order.get("payment_history", [])
    original = history[0]["payment_method_id"] if history else None
    if action.kind is ActionKind.return_items:
        if pm_id != original and method.get("source") != "gift_card":
            bad(
                "refund_method",
                "a refund goes to the original payment method or to a gift card",
                "§7.3",
            )
        return
    if action.kind is ActionKind.modify_payment:
        if pm_id == original:
            bad(
                "same_payment_method",
                "the new payment method must differ from the current one",
                "§6.2",
            )
        total = sum(float(p["amount"]) for p in history if p.get("transaction_type") == "payment")
        if method.get("source") == "gift_card" and float(method.get("balance", 0)) < total:
            bad(
                "insufficient_balance",
                f"gift card balance {method.get('balance')} does not cover {total:.2f}",
                "§6.2",
            )
        return
    diff = price_difference(action, order, products)
    if method.get("source") == "gift_card" and diff > float(method.get("balance", 0)):
        bad(
            "insufficient_balance",
            f"gift card balance {method.get('balance')} does not cover the difference {diff:.2f}",
            "§8.3",
        )
