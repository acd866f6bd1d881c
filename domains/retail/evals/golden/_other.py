"""Golden cases that must not act: refusals, transfers, unknown identity, rejected approvals."""

from __future__ import annotations

from typing import Any

from waypost.domains.retail.evals.golden._common import (
    ORDERS,
    USERS,
    case_row,
    opts,
    orders_with,
    other_variant,
    paid_with,
    who_is,
)


def refusal_cases() -> list[dict[str, Any]]:
    cases = []
    user, order = next(orders_with("delivered"))
    who, find = who_is(user, 0)
    cases.append(
        case_row(
            "refuse-cancel-delivered",
            f"{who} Please cancel order {order['order_id']}, I no longer need it.",
            [find],
            status="nothing_to_do",
            tags=["refusal", "cancel"],
            forbidden=[
                {
                    "name": "cancel_pending_order",
                    "arguments": {"order_id": order["order_id"], "reason": "no longer needed"},
                }
            ],
        )
    )
    user, order = list(orders_with("pending"))[-1]
    who, find = who_is(user, 0)
    cases.append(
        case_row(
            "refuse-cancel-reason",
            f"{who} Cancel order {order['order_id']} because I found it cheaper elsewhere.",
            [find],
            status="nothing_to_do",
            tags=["refusal", "cancel"],
            forbidden=[
                {"name": "cancel_pending_order", "arguments": {"order_id": order["order_id"]}}
            ],
        )
    )
    for user, order in orders_with("delivered"):
        item = order["items"][0]
        foreign = [
            it
            for oid in user["orders"]
            for it in ORDERS[oid]["items"]
            if it["product_id"] != item["product_id"]
        ]
        if foreign:
            other = foreign[0]
            who, find = who_is(user, 0)
            cases.append(
                case_row(
                    "refuse-exchange-other-product",
                    f"{who} In order {order['order_id']} I want to exchange the "
                    f"{item['name']} for a {other['name']} ({opts(other['options'])}) instead.",
                    [find],
                    status="nothing_to_do",
                    tags=["refusal", "exchange"],
                    forbidden=[
                        {
                            "name": "exchange_delivered_order_items",
                            "arguments": {
                                "order_id": order["order_id"],
                                "item_ids": [item["item_id"]],
                                "new_item_ids": [other["item_id"]],
                                "payment_method_id": paid_with(order),
                            },
                        }
                    ],
                )
            )
            break
    user, order = list(orders_with("pending"))[-2]
    who, find = who_is(user, 0)
    item = order["items"][0]
    cases.append(
        case_row(
            "refuse-return-pending",
            f"{who} I want to return the {item['name']} from order {order['order_id']} "
            "for a refund to the original payment method.",
            [find],
            status="nothing_to_do",
            tags=["refusal", "return"],
            forbidden=[
                {
                    "name": "return_delivered_order_items",
                    "arguments": {
                        "order_id": order["order_id"],
                        "item_ids": [item["item_id"]],
                        "payment_method_id": paid_with(order),
                    },
                }
            ],
        )
    )
    for user, order in orders_with("processed"):
        item = order["items"][0]
        new = other_variant(item)
        if new:
            who, find = who_is(user, 0)
            cases.append(
                case_row(
                    "refuse-modify-processed",
                    f"{who} Please change the {item['name']} in order {order['order_id']} "
                    f"to the one with {opts(new['options'])}.",
                    [find],
                    status="nothing_to_do",
                    tags=["refusal", "modify_items"],
                    forbidden=[
                        {
                            "name": "modify_pending_order_items",
                            "arguments": {
                                "order_id": order["order_id"],
                                "item_ids": [item["item_id"]],
                                "new_item_ids": [new["item_id"]],
                                "payment_method_id": paid_with(order),
                            },
                        }
                    ],
                )
            )
            break
    for user, order in orders_with("delivered"):
        item = order["items"][0]
        other_methods = [
            mid
            for mid, m in sorted(user["payment_methods"].items())
            if mid != paid_with(order) and m["source"] != "gift_card"
        ]
        if other_methods:
            who, find = who_is(user, 0)
            cases.append(
                case_row(
                    "refuse-refund-other-method",
                    f"{who} Return the {item['name']} from order {order['order_id']} and "
                    f"refund it to my {other_methods[0].split('_')[0]} {other_methods[0]}.",
                    [find],
                    status="nothing_to_do",
                    tags=["refusal", "return"],
                    forbidden=[
                        {
                            "name": "return_delivered_order_items",
                            "arguments": {
                                "order_id": order["order_id"],
                                "item_ids": [item["item_id"]],
                                "payment_method_id": other_methods[0],
                            },
                        }
                    ],
                )
            )
            break
    return cases


def other_cases() -> list[dict[str, Any]]:
    cases = []
    uids = sorted(USERS)
    topics = [
        "I want to file a warranty claim for a coffee grinder I bought two years ago in a shop.",
        "Can you give me a discount code for my next purchase?",
        "I'd like to speak to a human manager about a complaint regarding your courier.",
    ]
    for k, topic in enumerate(topics, 1):
        user = USERS[uids[-k]]
        who, find = who_is(user, 0)
        cases.append(
            case_row(
                f"transfer-{k}",
                f"{who} {topic}",
                [
                    find,
                    {
                        "name": "transfer_to_human_agents",
                        "arguments": {"summary": "out-of-scope request"},
                    },
                ],
                status="transferred",
                tags=["transfer"],
            )
        )
    cases.append(
        case_row(
            "unknown-email",
            "Hi, my email is nobody.here@example.org. Please cancel my last order.",
            [],
            status="needs_identity",
            tags=["identity"],
        )
    )
    cases.append(
        case_row(
            "unknown-name-zip",
            "I'm Zelda Quartermain, zip 99999. Please cancel my pending order.",
            [],
            status="needs_identity",
            tags=["identity"],
        )
    )
    user = USERS[uids[5]]
    cases.append(
        case_row(
            "wrong-zip",
            f"I'm {user['name']['first_name']} {user['name']['last_name']}, zip 00001. "
            "Where is my order?",
            [],
            status="needs_identity",
            tags=["identity"],
        )
    )
    for k, (user, order) in enumerate(list(orders_with("pending"))[-4:-2], 1):
        who, find = who_is(user, k)
        cases.append(
            case_row(
                "reject-cancel" if k == 1 else "reject-cancel-2",
                f"{who} Please cancel order {order['order_id']}, I ordered it by mistake.",
                [
                    find,
                    {
                        "name": "cancel_pending_order",
                        "arguments": {
                            "order_id": order["order_id"],
                            "reason": "ordered by mistake",
                        },
                    },
                ],
                status="rejected",
                tags=["approval-reject", "cancel"],
                approvals=["reject"],
            )
        )
    return cases
