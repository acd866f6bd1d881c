"""A deterministic demo store of our own (catalogue, customers, orders) in the tau2 format.

A fresh clone works without the reference world: ``generate_demo_db(seed)`` always returns the
same ~20 products, ~50 customers and ~150 orders across every status, with gift card balances.
"""

from __future__ import annotations

import random
from typing import Any

from waypost.domains.retail.tools.loader import Tau2Db

__all__ = ["DEFAULT_SEED", "generate_demo_db"]

DEFAULT_SEED = 20261126

# name -> (price range, option axes)
CATALOGUE: dict[str, tuple[tuple[float, float], dict[str, list[str]]]] = {
    "Trail Backpack": ((59, 149), {"volume": ["20L", "30L", "45L"], "color": ["olive", "slate"]}),
    "Ceramic Mug": ((9, 24), {"size": ["250ml", "400ml"], "glaze": ["matte", "gloss", "speckled"]}),
    "Desk Lamp": ((25, 89), {"finish": ["brass", "black", "white"], "bulb": ["LED", "halogen"]}),
    "Wireless Earbuds": (
        (39, 199),
        {"color": ["black", "ivory"], "noise cancelling": ["yes", "no"]},
    ),
    "Yoga Mat": ((19, 79), {"thickness": ["4mm", "6mm", "8mm"], "material": ["cork", "TPE"]}),
    "Rain Jacket": ((69, 189), {"size": ["S", "M", "L", "XL"], "color": ["navy", "yellow"]}),
    "Chef Knife": (
        (29, 159),
        {"blade length": ["6 inch", "8 inch"], "steel": ["carbon", "stainless"]},
    ),
    "Bluetooth Speaker": (
        (35, 129),
        {"color": ["red", "teal", "grey"], "waterproof": ["yes", "no"]},
    ),
    "Throw Blanket": (
        (29, 99),
        {"fabric": ["wool", "fleece", "cotton"], "color": ["rust", "sage"]},
    ),
    "Dot Grid Notebook": ((6, 22), {"format": ["A5", "A4"], "cover": ["soft", "hard"]}),
    "Plant Pot": (
        (8, 45),
        {"diameter": ["12cm", "18cm", "24cm"], "material": ["terracotta", "concrete"]},
    ),
    "Coffee Grinder": ((29, 229), {"type": ["manual", "electric"], "burr": ["conical", "flat"]}),
    "Phone Case": (
        (12, 39),
        {"model": ["Model 8", "Model 9", "Model 9 Pro"], "style": ["clear", "leather"]},
    ),
    "Running Socks": ((9, 19), {"size": ["S", "M", "L"], "cushioning": ["light", "max"]}),
    "Sunglasses": ((25, 149), {"lens": ["polarized", "standard"], "frame": ["tortoise", "black"]}),
    "Camping Stove": ((39, 119), {"fuel": ["butane", "multi-fuel"], "burners": ["1", "2"]}),
    "Board Game": (
        (19, 69),
        {"edition": ["classic", "deluxe"], "language": ["English", "Spanish"]},
    ),
    "Bath Towel": ((12, 39), {"size": ["hand", "bath", "sheet"], "color": ["white", "charcoal"]}),
    "Tea Kettle": ((29, 99), {"capacity": ["1L", "1.7L"], "material": ["steel", "glass"]}),
    "Bike Light": (
        (14, 59),
        {"brightness": ["200 lumen", "600 lumen"], "mount": ["front", "rear"]},
    ),
}
FIRST_NAMES = [
    "Amara",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Elif",
    "Felix",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Samir",
    "Tova",
]
LAST_NAMES = [
    "Abara",
    "Bergstrom",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Guerra",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
]
CITIES = [
    ("Portland", "OR", "97201"),
    ("Madison", "WI", "53703"),
    ("Tucson", "AZ", "85701"),
    ("Raleigh", "NC", "27601"),
    ("Boise", "ID", "83702"),
    ("Savannah", "GA", "31401"),
    ("Burlington", "VT", "05401"),
    ("Santa Fe", "NM", "87501"),
]
STREETS = ["Alder Lane", "Birch Road", "Cedar Court", "Harbor View", "Mill Street", "Quarry Way"]
STATUS_WEIGHTS = {"pending": 35, "processed": 15, "delivered": 40, "cancelled": 10}


def _digits(rng: random.Random, n: int, used: set[str]) -> str:
    while True:
        value = "".join(rng.choice("0123456789") for _ in range(n))
        if value[0] != "0" and value not in used:
            used.add(value)
            return value


def _products(rng: random.Random, used: set[str]) -> dict[str, dict[str, Any]]:
    products: dict[str, dict[str, Any]] = {}
    for name, ((low, high), axes) in CATALOGUE.items():
        product_id = _digits(rng, 10, used)
        variants: dict[str, dict[str, Any]] = {}
        combos: list[dict[str, str]] = [{}]
        for axis, values in axes.items():
            combos = [{**c, axis: v} for c in combos for v in values]
        for options in combos:
            item_id = _digits(rng, 10, used)
            variants[item_id] = {
                "item_id": item_id,
                "options": options,
                "available": rng.random() > 0.2,
                "price": round(rng.uniform(low, high), 2),
            }
        products[product_id] = {"name": name, "product_id": product_id, "variants": variants}
    return products


def _user(rng: random.Random, used: set[str]) -> dict[str, Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    user_id = f"{first.lower()}_{last.lower()}_{_digits(rng, 4, used)}"
    city, state, zip_code = rng.choice(CITIES)
    methods: dict[str, dict[str, Any]] = {}
    for source in rng.sample(["credit_card", "paypal", "gift_card"], k=rng.randint(1, 3)):
        method_id = f"{source}_{_digits(rng, 7, used)}"
        method: dict[str, Any] = {"source": source, "id": method_id}
        if source == "credit_card":
            method["brand"] = rng.choice(["visa", "mastercard", "amex"])
            method["last_four"] = _digits(rng, 4, set())
        elif source == "gift_card":
            method["balance"] = float(rng.randint(0, 300))
        methods[method_id] = method
    return {
        "user_id": user_id,
        "name": {"first_name": first, "last_name": last},
        "address": {
            "address1": f"{rng.randint(10, 999)} {rng.choice(STREETS)}",
            "address2": rng.choice(
                ["", f"Apt {rng.randint(1, 40)}", f"Suite {rng.randint(100, 900)}"]
            ),
            "city": city,
            "country": "USA",
            "state": state,
            "zip": zip_code,
        },
        "email": f"{first.lower()}.{last.lower()}{rng.randint(10, 99)}@example.com",
        "payment_methods": methods,
        "orders": [],
    }


def _order(
    rng: random.Random, used: set[str], user: dict[str, Any], products: dict[str, Any]
) -> dict[str, Any]:
    order_id = f"#W{_digits(rng, 7, used)}"
    items = []
    for product in rng.sample(list(products.values()), k=rng.randint(1, 4)):
        variant = rng.choice(list(product["variants"].values()))
        items.append(
            {
                "name": product["name"],
                "product_id": product["product_id"],
                "item_id": variant["item_id"],
                "price": variant["price"],
                "options": dict(variant["options"]),
            }
        )
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    method_id = rng.choice(list(user["payment_methods"]))
    total = round(sum(i["price"] for i in items), 2)
    payments = [{"transaction_type": "payment", "amount": total, "payment_method_id": method_id}]
    order: dict[str, Any] = {
        "order_id": order_id,
        "user_id": user["user_id"],
        "address": dict(user["address"]),
        "items": items,
        "status": status,
        "fulfillments": [],
        "payment_history": payments,
    }
    if status in ("processed", "delivered"):
        tracking = _digits(rng, 12, used)
        order["fulfillments"] = [
            {"tracking_id": [tracking], "item_ids": [i["item_id"] for i in items]}
        ]
    if status == "cancelled":
        payments.append({**payments[0], "transaction_type": "refund"})
        order["cancel_reason"] = rng.choice(["no longer needed", "ordered by mistake"])
    return order


def generate_demo_db(seed: int = DEFAULT_SEED, *, users: int = 50, orders: int = 150) -> Tau2Db:
    """The demo store for ``seed``: the same seed always gives the same store."""
    rng = random.Random(seed)
    used: set[str] = set()
    products = _products(rng, used)
    user_list = [_user(rng, used) for _ in range(users)]
    order_map: dict[str, dict[str, Any]] = {}
    for n in range(orders):
        # every customer gets at least one order, the rest go to random customers
        user = user_list[n] if n < len(user_list) else rng.choice(user_list)
        order = _order(rng, used, user, products)
        user["orders"].append(order["order_id"])
        order_map[order["order_id"]] = order
    return {
        "products": products,
        "users": {u["user_id"]: u for u in user_list},
        "orders": order_map,
    }
