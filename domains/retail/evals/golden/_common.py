"""Shared pieces of the golden dataset builder: the demo store, identities, case rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from waypost.domains.retail.tools.demo_data import DEFAULT_SEED, generate_demo_db
from waypost.evals.dataset import DEMO_WORLD

NEW_ADDRESSES = [
    {
        "address1": "12 Orchard Row",
        "address2": "Apt 3",
        "city": "Ithaca",
        "country": "USA",
        "state": "NY",
        "zip": "14850",
    },
    {
        "address1": "480 Lakeshore Drive",
        "address2": "",
        "city": "Duluth",
        "country": "USA",
        "state": "MN",
        "zip": "55802",
    },
    {
        "address1": "7 Canal Street",
        "address2": "Suite 210",
        "city": "Lowell",
        "country": "USA",
        "state": "MA",
        "zip": "01852",
    },
]
DB = generate_demo_db(DEFAULT_SEED)
USERS = DB["users"]
ORDERS = DB["orders"]
PRODUCTS = DB["products"]


def unique_name_zip(user: dict[str, Any]) -> bool:
    key = (user["name"]["first_name"], user["name"]["last_name"], user["address"]["zip"])
    return (
        sum(
            (u["name"]["first_name"], u["name"]["last_name"], u["address"]["zip"]) == key
            for u in USERS.values()
        )
        == 1
    )


def who_is(user: dict[str, Any], n: int) -> tuple[str, dict[str, Any]]:
    """An identity sentence and the reference lookup call (email or name + zip, alternating)."""
    name = user["name"]
    if n % 2 == 0 or not unique_name_zip(user):
        return (
            f"Hi, this is {name['first_name']} {name['last_name']}, email {user['email']}.",
            {"name": "find_user_id_by_email", "arguments": {"email": user["email"]}},
        )
    return (
        f"Hello, I'm {name['first_name']} {name['last_name']}, zip code {user['address']['zip']}.",
        {
            "name": "find_user_id_by_name_zip",
            "arguments": {
                "first_name": name["first_name"],
                "last_name": name["last_name"],
                "zip": user["address"]["zip"],
            },
        },
    )


def paid_with(order: dict[str, Any]) -> str:
    return str(order["payment_history"][0]["payment_method_id"])


Pair = tuple[dict[str, Any], dict[str, Any]]  # (customer, order)


def orders_with(status: str, *, card_paid: bool = False) -> Iterator[Pair]:
    for oid in sorted(ORDERS):
        order = ORDERS[oid]
        if order["status"] != status:
            continue
        if card_paid and paid_with(order).startswith("gift_card"):
            continue
        yield USERS[order["user_id"]], order


def other_variant(item: dict[str, Any], *, available: bool = True) -> dict[str, Any] | None:
    variants = PRODUCTS[item["product_id"]]["variants"]
    for vid in sorted(variants):
        v = variants[vid]
        if vid != item["item_id"] and bool(v["available"]) is available:
            return dict(v)
    return None


def opts(options: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


def addr(a: dict[str, str]) -> str:
    second = f" {a['address2']}," if a["address2"] else ""
    return f"{a['address1']},{second} {a['city']}, {a['state']} {a['zip']}, {a['country']}"


def case_row(
    cid: str,
    message: str,
    calls: list[dict[str, Any]],
    *,
    status: str,
    tags: list[str],
    facts: list[str] | None = None,
    forbidden: list[dict[str, Any]] | None = None,
    approvals: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": cid,
        "input": {"message": message},
        "tags": tags,
        "world": DEMO_WORLD,
        "approvals": approvals,
        "expected": {
            "status": status,
            "actions": calls,
            "communicate_info": facts or [],
            "forbidden": forbidden or [],
        },
    }
