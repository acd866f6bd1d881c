"""Golden cases that must act: one block per action type of the retail workflow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from waypost.domains.retail.evals.golden._common import (
    NEW_ADDRESSES,
    USERS,
    addr,
    case_row,
    opts,
    orders_with,
    other_variant,
    paid_with,
    who_is,
)


def action_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    used: set[str] = set()

    def take(
        gen: Iterator[tuple[dict[str, Any], dict[str, Any]]], n: int
    ) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        k = 0
        for user, order in gen:
            if order["order_id"] in used or k >= n:
                continue
            used.add(order["order_id"])
            k += 1
            yield k, user, order

    reasons = ["no longer needed", "ordered by mistake"]
    for k, user, order in take(orders_with("pending"), 4):
        who, find = who_is(user, k)
        reason = reasons[k % 2]
        words = "I don't need it anymore" if reason == reasons[0] else "I ordered it by mistake"
        cases.append(
            case_row(
                f"cancel-{k}",
                f"{who} Please cancel my order {order['order_id']}, {words}.",
                [
                    find,
                    {
                        "name": "cancel_pending_order",
                        "arguments": {"order_id": order["order_id"], "reason": reason},
                    },
                ],
                status="completed",
                tags=["cancel"],
                facts=[order["order_id"]],
            )
        )

    k = 0
    for user, order in orders_with("pending", card_paid=True):
        item = order["items"][0]
        new = other_variant(item)
        if new is None or order["order_id"] in used or k >= 4:
            continue
        used.add(order["order_id"])
        k += 1
        who, find = who_is(user, k)
        cases.append(
            case_row(
                f"modify-items-{k}",
                f"{who} In my pending order {order['order_id']} I'd like to change the "
                f"{item['name']} to the one with {opts(new['options'])}. Use the same payment "
                "method as the order.",
                [
                    find,
                    {
                        "name": "modify_pending_order_items",
                        "arguments": {
                            "order_id": order["order_id"],
                            "item_ids": [item["item_id"]],
                            "new_item_ids": [new["item_id"]],
                            "payment_method_id": paid_with(order),
                        },
                    },
                ],
                status="completed",
                tags=["modify_items"],
                facts=[order["order_id"]],
            )
        )

    for k, user, order in take(orders_with("pending"), 3):
        who, find = who_is(user, k)
        new_addr = NEW_ADDRESSES[k - 1]
        cases.append(
            case_row(
                f"modify-order-address-{k}",
                f"{who} Please ship order {order['order_id']} to {addr(new_addr)} instead.",
                [
                    find,
                    {
                        "name": "modify_pending_order_address",
                        "arguments": {"order_id": order["order_id"], **new_addr},
                    },
                ],
                status="completed",
                tags=["modify_order_address"],
                facts=[order["order_id"]],
            )
        )

    k = 0
    for user, order in orders_with("pending", card_paid=True):
        total = sum(p["amount"] for p in order["payment_history"])
        others = [
            m
            for mid, m in sorted(user["payment_methods"].items())
            if mid != paid_with(order) and m["source"] != "gift_card"
        ]
        if not others or order["order_id"] in used or k >= 3:
            continue
        used.add(order["order_id"])
        k += 1
        who, find = who_is(user, k)
        method = others[0]
        label = (
            "PayPal account"
            if method["source"] == "paypal"
            else (f"{method['brand']} card ending {method['last_four']}")
        )
        cases.append(
            case_row(
                f"modify-payment-{k}",
                f"{who} For order {order['order_id']} (total ${total}) I want to pay with my "
                f"{label} instead.",
                [
                    find,
                    {
                        "name": "modify_pending_order_payment",
                        "arguments": {
                            "order_id": order["order_id"],
                            "payment_method_id": method["id"],
                        },
                    },
                ],
                status="completed",
                tags=["modify_payment"],
                facts=[order["order_id"]],
            )
        )

    for k, user, order in take(orders_with("delivered"), 4):
        who, find = who_is(user, k)
        item = order["items"][0]
        gift = [
            m for mid, m in sorted(user["payment_methods"].items()) if m["source"] == "gift_card"
        ]
        to_gift = k % 2 == 0 and gift
        method = gift[0]["id"] if to_gift else paid_with(order)
        where = "my gift card" if to_gift else "the original payment method"
        cases.append(
            case_row(
                f"return-{k}",
                f"{who} I received order {order['order_id']} and want to return the "
                f"{item['name']}. Please refund it to {where}.",
                [
                    find,
                    {
                        "name": "return_delivered_order_items",
                        "arguments": {
                            "order_id": order["order_id"],
                            "item_ids": [item["item_id"]],
                            "payment_method_id": method,
                        },
                    },
                ],
                status="completed",
                tags=["return"],
                facts=[order["order_id"]],
            )
        )

    k = 0
    for user, order in orders_with("delivered", card_paid=True):
        item = order["items"][0]
        new = other_variant(item)
        if new is None or order["order_id"] in used or k >= 4:
            continue
        used.add(order["order_id"])
        k += 1
        who, find = who_is(user, k)
        cases.append(
            case_row(
                f"exchange-{k}",
                f"{who} I got order {order['order_id']}; please exchange the "
                f"{item['name']} for the one with {opts(new['options'])}, "
                "paying any difference with the original payment method.",
                [
                    find,
                    {
                        "name": "exchange_delivered_order_items",
                        "arguments": {
                            "order_id": order["order_id"],
                            "item_ids": [item["item_id"]],
                            "new_item_ids": [new["item_id"]],
                            "payment_method_id": paid_with(order),
                        },
                    },
                ],
                status="completed",
                tags=["exchange"],
                facts=[order["order_id"]],
            )
        )

    for k, uid in enumerate(sorted(USERS)[:3], 1):
        user = USERS[uid]
        who, find = who_is(user, k)
        new_addr = NEW_ADDRESSES[-k]
        cases.append(
            case_row(
                f"user-address-{k}",
                f"{who} I moved. Please update the default address on my account to "
                f"{addr(new_addr)}.",
                [find, {"name": "modify_user_address", "arguments": {"user_id": uid, **new_addr}}],
                status="completed",
                tags=["modify_user_address"],
            )
        )

    for user, order in orders_with("delivered"):
        gift = [
            m["id"]
            for _, m in sorted(user["payment_methods"].items())
            if m["source"] == "gift_card"
        ]
        if not gift or order["order_id"] in used:
            continue
        used.add(order["order_id"])
        who, find = who_is(user, 1)
        items = order["items"]
        cases.append(
            case_row(
                "return-all-to-gift-card",
                f"{who} Please return everything in order {order['order_id']} and put the "
                "refund on my gift card.",
                [
                    find,
                    {
                        "name": "return_delivered_order_items",
                        "arguments": {
                            "order_id": order["order_id"],
                            "item_ids": [it["item_id"] for it in items],
                            "payment_method_id": gift[0],
                        },
                    },
                ],
                status="completed",
                tags=["return", "gift_card"],
                facts=[order["order_id"]],
            )
        )
        break

    pending = [(u, o) for u, o in orders_with("pending") if o["order_id"] not in used]
    user, order = pending[0]
    used.add(order["order_id"])
    who, find = who_is(user, 0)
    new_addr = NEW_ADDRESSES[0]
    cases.append(
        case_row(
            "multi-cancel-and-user-address",
            f"{who} Two things: cancel order {order['order_id']} because I no longer need it, "
            f"and update my account's default address to {addr(new_addr)}.",
            [
                find,
                {
                    "name": "cancel_pending_order",
                    "arguments": {"order_id": order["order_id"], "reason": "no longer needed"},
                },
                {
                    "name": "modify_user_address",
                    "arguments": {"user_id": user["user_id"], **new_addr},
                },
            ],
            status="completed",
            tags=["multi", "cancel", "modify_user_address"],
            facts=[order["order_id"]],
        )
    )
    return cases
