"""Policy validation of a plan, in code: the LLM proposes, this decides.

Checks every action against the store snapshot gathered for the run (order status, ownership,
same product type, availability, payment method ownership, gift card balance, one
modify/exchange per order) and against the actions before it in the plan.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from waypost.domains.retail.resolve import ALL_ORDERS, named_in
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
    asked: str | None = None,
) -> list[Violation]:
    """Every policy violation of ``plan``; empty means the plan may go to approval.

    ``asked`` is what the customer wrote (every message of the conversation): when given,
    an action on an order or item the customer neither named nor unambiguously described is
    a violation (§3.4)."""
    out: list[Violation] = []
    if asked is not None:
        out += _not_asked(plan, orders, asked)
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


_ORDER_ID = re.compile(r"#W\d{7}")
_ALL_ITEMS = re.compile(r"\b(all|every|everything|entire|whole|both)\b", re.IGNORECASE)
# actions that pick an order and items out of the customer's records; address and payment
# changes are described by the address or card instead ("the order sent to my old address")
_ASKED_KINDS = {
    ActionKind.cancel_order: "pending",
    ActionKind.modify_items: "pending",
    ActionKind.return_items: "delivered",
    ActionKind.exchange_items: "delivered",
}


def _not_asked(plan: list[Action], orders: dict[str, dict[str, Any]], text: str) -> list[Violation]:
    """§3.4: orders and items the customer neither named nor unambiguously described."""
    out: list[Violation] = []
    named_orders = set(_ORDER_ID.findall(text))
    for i, action in enumerate(plan):
        status = _ASKED_KINDS.get(action.kind)
        order = orders.get(action.order_id or "")
        if status is None or order is None:
            continue
        items = order.get("items", [])
        described = [it for it in items if it["item_id"] in text or named_in(it["name"], text)]
        if action.order_id not in named_orders:
            only = [o for o in orders.values() if o.get("status") == status]
            unambiguous = (
                bool(described)
                or (not named_orders and len(only) == 1)
                or bool(ALL_ORDERS.search(text))  # "cancel all my pending orders"
            )
            if not unambiguous:
                named = ", ".join(sorted(named_orders)) or "no order"
                out.append(
                    Violation(
                        i,
                        "not_asked",
                        f"the customer did not ask about order {action.order_id} (they named "
                        f"{named} and none of its items)",
                        "§3.4",
                    )
                )
                continue
        if action.kind is ActionKind.cancel_order or _ALL_ITEMS.search(text):
            continue
        by_id = {it["item_id"]: it for it in items}
        described_ids = {it["item_id"] for it in described}
        for item_id in dict.fromkeys(action.item_ids):
            item = by_id.get(item_id)
            if item is None or item_id in described_ids or len(items) == 1:
                continue
            out.append(
                Violation(
                    i,
                    "not_asked",
                    f"the customer did not ask about item {item_id} ({item['name']}) of order "
                    f"{action.order_id}",
                    "§3.4",
                )
            )
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
