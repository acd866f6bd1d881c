"""Answers to information requests, computed from the store snapshot (§1.4)."""

from __future__ import annotations

from typing import Any

from waypost.domains.retail.resolve import match_items, named_items
from waypost.domains.retail.state import Intake, RequestKind

__all__ = ["answer_questions", "order_total"]


def order_total(order: dict[str, Any]) -> float:
    return round(sum(float(it["price"]) for it in order.get("items", [])), 2)


def answer_questions(
    intake: Intake, orders: dict[str, dict[str, Any]], products: dict[str, dict[str, Any]]
) -> list[str]:
    """One sentence per order the information requests concern (status, total, tracking),
    and one per item the question names (its options)."""
    lines: list[str] = []
    for req in intake.requests:
        if req.kind is not RequestKind.order_info:
            continue
        if req.order_id and req.order_id in orders:
            targets = [orders[req.order_id]]
        elif req.items:
            targets = [o for o in orders.values() if match_items(req.items, o.get("items", []))]
        elif req.said and (
            named := [o for o in orders.values() if named_items(o.get("items", []), req.said)]
        ):  # the orders holding what the question's words name
            targets = named
        else:
            targets = list(orders.values())
        for order in targets:
            tracking = [t for f in order.get("fulfillments", []) for t in f.get("tracking_id", [])]
            line = (
                f"Order {order['order_id']} is {order.get('status')}, total "
                f"${order_total(order):.2f}"
            )
            if tracking:
                line += f", tracking number {', '.join(tracking)}"
            lines.append(line + ".")
            # the items the question names: their options ("the storage of my tablet")
            for item in named_items(order.get("items", []), req.said or ""):
                options = ", ".join(f"{k} {v}" for k, v in item.get("options", {}).items())
                lines.append(f"The {item['name']} in order {order['order_id']} has {options}.")
    return lines
