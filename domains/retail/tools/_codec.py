"""Conversions between store rows and tau2 record dicts, shared by the loader and the tools."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ORDER_OPTIONAL_FIELDS",
    "order_dict",
    "order_rows",
    "payment_method_dict",
    "product_dict",
    "product_rows",
    "user_dict",
    "user_rows",
    "variant_dict",
]

ORDER_OPTIONAL_FIELDS = (
    "cancel_reason",
    "exchange_items",
    "exchange_new_items",
    "exchange_payment_method_id",
    "exchange_price_difference",
    "return_items",
    "return_payment_method_id",
)
_ADDRESS_FIELDS = ("address1", "address2", "city", "country", "state", "zip")
_CARD_FIELDS = ("brand", "last_four", "balance")

Row = Any  # an ORM object or a Core row: both expose columns as attributes
Record = dict[str, Any]


def _address(row: Row) -> Record:
    return {name: getattr(row, name) for name in _ADDRESS_FIELDS}


def payment_method_dict(row: Row) -> Record:
    """A payment method as tau2 writes it: ``source``, ``id``, then only the fields it has."""
    record: Record = {"source": row.source, "id": row.payment_method_id}
    for name in _CARD_FIELDS:
        value = getattr(row, name)
        if value is not None:
            record[name] = value
    return record


def user_dict(row: Row, payment_methods: Iterable[Row]) -> Record:
    return {
        "user_id": row.user_id,
        "name": {"first_name": row.first_name, "last_name": row.last_name},
        "address": _address(row),
        "email": row.email,
        "payment_methods": {
            pm.payment_method_id: payment_method_dict(pm) for pm in payment_methods
        },
        "orders": list(row.order_ids),
    }


def variant_dict(row: Row) -> Record:
    return {
        "item_id": row.item_id,
        "options": dict(row.options),
        "available": bool(row.available),
        "price": row.price,
    }


def product_dict(row: Row, variants: Iterable[Row]) -> Record:
    return {
        "name": row.name,
        "product_id": row.product_id,
        "variants": {v.item_id: variant_dict(v) for v in variants},
    }


def order_dict(
    row: Row,
    items: Iterable[Row],
    fulfillments: Iterable[Row],
    payments: Iterable[Row],
    *,
    include_nulls: bool,
) -> Record:
    """An order record; ``include_nulls`` keeps unset optional fields (tool output) or drops
    them (``db.json``)."""
    record: Record = {
        "order_id": row.order_id,
        "user_id": row.user_id,
        "address": _address(row),
        "items": [
            {
                "name": i.name,
                "product_id": i.product_id,
                "item_id": i.item_id,
                "price": i.price,
                "options": dict(i.options),
            }
            for i in items
        ],
        "status": row.status,
        "fulfillments": [
            {"tracking_id": list(f.tracking_ids), "item_ids": list(f.item_ids)}
            for f in fulfillments
        ],
        "payment_history": [
            {
                "transaction_type": p.transaction_type,
                "amount": p.amount,
                "payment_method_id": p.payment_method_id,
            }
            for p in payments
        ],
    }
    for name in ORDER_OPTIONAL_FIELDS:
        value = getattr(row, name)
        if value is not None or include_nulls:
            record[name] = value
    return record


def user_rows(users: Mapping[str, Record]) -> tuple[list[Record], list[Record]]:
    """Rows of ``retail_users`` and ``retail_payment_methods`` for tau2 user records."""
    user_table: list[Record] = []
    methods: list[Record] = []
    for position, (user_id, user) in enumerate(users.items()):
        address = user["address"]
        user_table.append(
            {
                "user_id": user_id,
                "position": position,
                "first_name": user["name"]["first_name"],
                "last_name": user["name"]["last_name"],
                "email": user["email"],
                **{name: address[name] for name in _ADDRESS_FIELDS},
                "order_ids": list(user.get("orders", [])),
            }
        )
        for pm_position, (pm_id, pm) in enumerate(user.get("payment_methods", {}).items()):
            methods.append(
                {
                    "user_id": user_id,
                    "payment_method_id": pm_id,
                    "position": pm_position,
                    "source": pm["source"],
                    **{name: pm.get(name) for name in _CARD_FIELDS},
                }
            )
    return user_table, methods


def product_rows(products: Mapping[str, Record]) -> tuple[list[Record], list[Record]]:
    """Rows of ``retail_products`` and ``retail_variants`` for tau2 product records."""
    product_table: list[Record] = []
    variants: list[Record] = []
    for position, (product_id, product) in enumerate(products.items()):
        product_table.append(
            {"product_id": product_id, "position": position, "name": product["name"]}
        )
        for v_position, (item_id, variant) in enumerate(product["variants"].items()):
            variants.append(
                {
                    "item_id": item_id,
                    "product_id": product_id,
                    "position": v_position,
                    "options": variant["options"],
                    "available": variant["available"],
                    "price": variant["price"],
                }
            )
    return product_table, variants


def order_rows(orders: Mapping[str, Record]) -> dict[str, list[Record]]:
    """Rows of the four order tables for tau2 order records, keyed by table name."""
    tables: dict[str, list[Record]] = {
        "orders": [],
        "items": [],
        "fulfillments": [],
        "payments": [],
    }
    for position, (order_id, order) in enumerate(orders.items()):
        address = order["address"]
        tables["orders"].append(
            {
                "order_id": order_id,
                "position": position,
                "user_id": order["user_id"],
                **{name: address[name] for name in _ADDRESS_FIELDS},
                "status": order["status"],
                **{name: order.get(name) for name in ORDER_OPTIONAL_FIELDS},
            }
        )
        for i, item in enumerate(order["items"]):
            tables["items"].append(
                {
                    "order_id": order_id,
                    "position": i,
                    "item_id": item["item_id"],
                    "product_id": item["product_id"],
                    "name": item["name"],
                    "price": item["price"],
                    "options": item["options"],
                }
            )
        for i, fulfillment in enumerate(order.get("fulfillments", [])):
            tables["fulfillments"].append(
                {
                    "order_id": order_id,
                    "position": i,
                    "tracking_ids": list(fulfillment["tracking_id"]),
                    "item_ids": list(fulfillment["item_ids"]),
                }
            )
        for i, payment in enumerate(order.get("payment_history", [])):
            tables["payments"].append(
                {
                    "order_id": order_id,
                    "position": i,
                    "transaction_type": payment["transaction_type"],
                    "amount": payment["amount"],
                    "payment_method_id": payment["payment_method_id"],
                }
            )
    return tables
