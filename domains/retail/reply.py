"""The reply to the customer, written from the run's records (no model: facts only, §3.2)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from waypost.domains.retail.state import Action, ActionKind

__all__ = [
    "TRANSFER_MESSAGE",
    "charge_amount",
    "compose_reply",
    "describe_action",
    "refund_amount",
    "total_refund",
]

TRANSFER_MESSAGE = "YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON."

_SECTIONS = {
    ActionKind.cancel_order: "§5",
    ActionKind.modify_items: "§6.3",
    ActionKind.modify_order_address: "§6.1",
    ActionKind.modify_payment: "§6.2",
    ActionKind.return_items: "§7",
    ActionKind.exchange_items: "§8",
    ActionKind.modify_user_address: "§1.3",
    ActionKind.transfer: "§9",
}


def _items(action: Action, orders: dict[str, dict[str, Any]]) -> str:
    by_id = {
        it["item_id"]: it["name"] for it in orders.get(action.order_id or "", {}).get("items", [])
    }
    return ", ".join(f"{by_id.get(i, 'item')} ({i})" for i in action.item_ids)


def describe_action(action: Action, orders: dict[str, dict[str, Any]], diff: float | None) -> str:
    """One sentence saying exactly what the action does (shown to reviewers and customers)."""
    k = action.kind
    if k is ActionKind.cancel_order:
        return f"cancel order {action.order_id} (reason: {action.reason})"
    if k is ActionKind.return_items:
        return (
            f"return {_items(action, orders)} from order {action.order_id}, refund to "
            f"{action.payment_method_id}"
        )
    if k in (ActionKind.exchange_items, ActionKind.modify_items):
        verb = "exchange" if k is ActionKind.exchange_items else "change"
        pairs = ", ".join(
            f"{o} -> {n}" for o, n in zip(action.item_ids, action.new_item_ids, strict=False)
        )
        money = ""
        if diff is not None:
            money = (
                f"; you pay ${diff:.2f}"
                if diff > 0
                else f"; you are refunded ${-diff:.2f}"
                if diff < 0
                else "; no price difference"
            )
        return (
            f"{verb} items of order {action.order_id} ({pairs}) using "
            f"{action.payment_method_id}{money}"
        )
    if k is ActionKind.modify_payment:
        return f"pay order {action.order_id} with {action.payment_method_id}"
    if k in (ActionKind.modify_order_address, ActionKind.modify_user_address):
        a = action.address
        where = (
            f"{a.address1}, {a.address2 + ', ' if a.address2 else ''}{a.city}, {a.state} {a.zip}"
            if a
            else "?"
        )
        target = (
            f"order {action.order_id}"
            if k is ActionKind.modify_order_address
            else "your default address"
        )
        return f"change the address of {target} to {where}"
    return "transfer you to a human agent"


def compose_reply(state: dict[str, Any]) -> str:
    """A polite, factual reply: what was done, what was declined and why, with policy sections."""
    status = state.get("status")
    if status == "needs_identity":
        ident = (state.get("intake") or {}).get("identity") or {}
        tried = any(ident.get(k) for k in ("email", "first_name", "last_name", "zip", "user_id"))
        opening = (
            "I could not find your account with those details."
            if tried
            else "I can help with that once I have found your account."
        )
        return (
            f"{opening} Please give the email address on your account, or your first name, "
            "last name and zip code (policy §2.1)."
        )
    orders = state.get("orders", {})
    plan = [Action.model_validate(a) for a in state.get("plan", [])]
    lines: list[str] = []
    transferred = False
    for ex in state.get("executed", []):
        action = plan[ex["action_index"]]
        if action.kind is ActionKind.transfer:
            transferred = True
            continue
        sec = _SECTIONS[action.kind]
        if ex["ok"]:
            lines.append(f"Done: {describe_action(action, orders, None)} (policy {sec}).")
            lines.extend(_consequence(action, ex.get("result"), state))
        else:
            lines.append(
                f"I could not {describe_action(action, orders, None)}: "
                f"{ex.get('error_message')} (policy {sec})."
            )
    for d in state.get("decisions", []):
        if d["decision"] == "reject":
            action = plan[d["action_index"]]
            note = f" Reviewer's note: {d['comment']}" if d.get("comment") else ""
            lines.append(
                f"As requested, I did not {describe_action(action, orders, None)}; "
                f"nothing was changed.{note}"
            )
    for dropped in state.get("dropped", []):
        lines.append(f"I cannot do this: {dropped['reason']}.")
    for note in state.get("notes", []):
        lines.append(f"I could not act on part of your request: {note}.")
    refunds = [
        ex
        for ex in state.get("executed", [])
        if ex.get("ok") and refund_amount(plan[ex["action_index"]], ex.get("result"))
    ]
    if len(refunds) > 1:
        lines.append(f"In total, ${total_refund(state):.2f} is refunded to you.")
    charges = [
        c
        for ex in state.get("executed", [])
        if ex.get("ok")
        for c in [charge_amount(plan[ex["action_index"]], ex.get("result"))]
        if c is not None
    ]
    if len(charges) > 1:  # several item changes: what they come to together
        net = round(sum(charges), 2)
        lines.append(
            f"In total, you pay ${net:.2f} for these changes."
            if net >= 0
            else f"In total, ${-net:.2f} is refunded to you for these changes."
        )
    if _REMAINING.search(state.get("message") or ""):
        lines.extend(_kept_totals(state, plan))
    lines.extend(state.get("info", []))
    if status == "needs_clarification":
        lines.append("Which order and which items do you mean? You can give the order id (#W...).")
    if not lines and not transferred:
        lines.append("I found nothing to change for this request.")
    text = " ".join(lines)
    if transferred:
        text = (text + " " + TRANSFER_MESSAGE).strip()
    return text


# "how much did I pay for the remaining items", "the rest of the order", "what I keep"
_REMAINING = re.compile(
    r"\b(?:remaining|rest of|left in|other items|(?:I|you) (?:will )?keep)\b", re.IGNORECASE
)


def _kept_totals(state: dict[str, Any], plan: list[Action]) -> list[str]:
    """What the customer paid for the items they keep, per order a return took part of."""
    orders = state.get("orders", {})
    lines = []
    for ex in state.get("executed", []):
        action = plan[ex["action_index"]]
        order = orders.get(action.order_id or "")
        if not ex.get("ok") or action.kind is not ActionKind.return_items or order is None:
            continue
        returned = Counter(action.item_ids)
        kept = []
        for item in order.get("items", []):
            if returned[item["item_id"]]:
                returned[item["item_id"]] -= 1
            else:
                kept.append(float(item["price"]))
        if kept:
            lines.append(
                f"You paid ${sum(kept):.2f} for the {len(kept)} item(s) you keep in order "
                f"{action.order_id}."
            )
    return lines


def refund_amount(action: Action, result: Any) -> float | None:
    """Money going back to the customer for an executed action (None when nothing is refunded).

    Computed from the order the tool returned: the cancelled order's payments, the returned
    items' prices, or a negative price difference.
    """
    order = result if isinstance(result, dict) else {}
    if action.kind is ActionKind.cancel_order:
        paid = [p for p in order.get("payment_history", []) if p["transaction_type"] == "payment"]
        return round(sum(float(p["amount"]) for p in paid), 2)
    if action.kind is ActionKind.return_items:
        prices = {it["item_id"]: float(it["price"]) for it in order.get("items", [])}
        return round(sum(prices.get(i, 0.0) for i in action.item_ids), 2)
    if action.kind is ActionKind.exchange_items:
        diff = order.get("exchange_price_difference")
        return round(-float(diff), 2) if diff is not None and float(diff) < 0 else None
    return None


def charge_amount(action: Action, result: Any) -> float | None:
    """What an executed item change costs the customer (negative: refunded); None for others."""
    order = result if isinstance(result, dict) else {}
    if action.kind is ActionKind.exchange_items:
        diff = order.get("exchange_price_difference")
        return round(float(diff), 2) if diff is not None else None
    if action.kind is ActionKind.modify_items:
        history = order.get("payment_history", [])
        if len(history) < 2:
            return 0.0
        last = history[-1]
        sign = 1.0 if last["transaction_type"] == "payment" else -1.0
        return round(sign * float(last["amount"]), 2)
    return None


def _consequence(action: Action, result: Any, state: dict[str, Any]) -> list[str]:
    k = action.kind
    order = result if isinstance(result, dict) else {}
    refund = refund_amount(action, result)
    if k is ActionKind.cancel_order:
        return [
            f"The order total of ${refund:.2f} is refunded to the original payment method: "
            "immediately for a gift card, otherwise within 5 to 7 business days."
        ]
    if k is ActionKind.return_items:
        return [
            f"You will be refunded ${refund:.2f} to {action.payment_method_id} once the items "
            "are received; you will receive an email explaining how to send them back."
        ]
    if k is ActionKind.exchange_items:
        diff = float(order.get("exchange_price_difference") or 0.0)
        money = (
            f"you pay a price difference of ${diff:.2f}"
            if diff > 0
            else f"you are refunded ${-diff:.2f}"
            if diff < 0
            else "there is no price difference"
        )
        return [
            f"For the exchange {money} ({action.payment_method_id}); you will receive an email "
            "explaining how to send the items back."
        ]
    if k is ActionKind.modify_items:
        history = order.get("payment_history", [])
        last = history[-1] if len(history) > 1 else None
        if last is not None:
            verb = "charged" if last["transaction_type"] == "payment" else "refunded"
            return [
                f"The price difference of ${float(last['amount']):.2f} is {verb} "
                f"({last['payment_method_id']})."
            ]
    return []


def total_refund(state: dict[str, Any]) -> float:
    """Sum of refunds of every executed action in the run."""
    plan = [Action.model_validate(a) for a in state.get("plan", [])]
    total = 0.0
    for ex in state.get("executed", []):
        if ex.get("ok"):
            total += refund_amount(plan[ex["action_index"]], ex.get("result")) or 0.0
    return round(total, 2)
