"""Answers to information requests, computed from the store snapshot (§1.4)."""

from __future__ import annotations

import re
from typing import Any

from waypost.domains.retail.intake import TOTAL_QUESTION
from waypost.domains.retail.resolve import match_items, named_items
from waypost.domains.retail.state import Intake, RequestKind

__all__ = ["answer_questions", "order_total"]

_TOTAL = re.compile(TOTAL_QUESTION, re.I)


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
        lines += _named_total(req.said or "", targets)
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


def _named_total(words: str, orders: list[dict[str, Any]]) -> list[str]:
    """What the items a question names cost together, across the orders that hold them ("the
    total price for all the grills you have bought")."""
    if not _TOTAL.search(words):
        return []
    items = [i for o in orders for i in named_items(o.get("items", []), words)]
    if not items:
        return []
    names = sorted({i["name"] for i in items})
    what = (
        f"{len(items)} {names[0]}{'s' if len(items) > 1 else ''}"
        if len(names) == 1
        else f"{len(items)} items ({', '.join(names)})"
    )
    total = sum(float(i["price"]) for i in items)
    return [f"The {what} you bought cost ${total:.2f} in total."]
