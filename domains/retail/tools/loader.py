"""Load the store from the tau2 ``db.json`` format and export it back, exactly.

Loading uses bulk (executemany) inserts, so the 500-user reference world loads in a fraction of
a second on SQLite; exporting reads each table once, so an eval can diff the whole store
against a reference end state cheaply.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Text, delete, func, insert, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools._codec import (
    order_dict,
    order_rows,
    product_dict,
    product_rows,
    user_dict,
    user_rows,
)
from waypost.domains.retail.tools.store import (
    STORE_MODELS,
    Fulfillment,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentTransaction,
    Product,
    User,
    Variant,
)
from waypost.runtime.db import session_scope
from waypost.runtime.errors import Conflict, ValidationFailed

__all__ = [
    "Tau2Db",
    "clear_store",
    "export_tau2_db",
    "load_tau2_db",
    "read_tau2_db",
    "store_counts",
]

Tau2Db = dict[str, dict[str, dict[str, Any]]]
"""``{"products": {id: record}, "users": {id: record}, "orders": {id: record}}``."""

_SECTIONS = ("products", "users", "orders")


def read_tau2_db(source: str | Path | Mapping[str, Any]) -> Tau2Db:
    """The tau2 database from a ``db.json`` path or an already parsed mapping."""
    data: Any = source
    if isinstance(source, str | Path):
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, Mapping) or any(
        not isinstance(data.get(section), Mapping) for section in _SECTIONS
    ):
        raise ValidationFailed(
            "not a tau2 retail database: expected an object with 'products', 'users' and "
            "'orders' objects"
        )
    return {section: dict(data[section]) for section in _SECTIONS}


def store_counts(session: Session) -> dict[str, int]:
    """Row counts of the store: users, payment methods, products, variants, orders, items..."""
    names = {
        User: "users",
        PaymentMethod: "payment_methods",
        Product: "products",
        Variant: "variants",
        Order: "orders",
        OrderItem: "order_items",
        Fulfillment: "fulfillments",
        PaymentTransaction: "payment_transactions",
    }
    return {
        name: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model, name in names.items()
    }


def clear_store(session: Session) -> None:
    """Delete every store row (children first), in the caller's transaction."""
    for model in reversed(STORE_MODELS):
        session.execute(delete(model))


def load_tau2_db(
    session_factory: sessionmaker[Session],
    source: str | Path | Mapping[str, Any],
    *,
    replace: bool = False,
) -> dict[str, int]:
    """Import a tau2 retail database into the store in one transaction; returns row counts.

    Refuses (``Conflict``) to load into a non-empty store unless ``replace`` is set, which first
    deletes the current contents.
    """
    db = read_tau2_db(source)
    users, methods = user_rows(db["users"])
    products, variants = product_rows(db["products"])
    orders = order_rows(db["orders"])
    batches: list[tuple[type[Any], list[dict[str, Any]]]] = [
        (User, users),
        (PaymentMethod, methods),
        (Product, products),
        (Variant, variants),
        (Order, orders["orders"]),
        (OrderItem, orders["items"]),
        (Fulfillment, orders["fulfillments"]),
        (PaymentTransaction, orders["payments"]),
    ]
    with session_scope(session_factory) as session:
        if replace:
            clear_store(session)
        elif session.scalar(select(func.count()).select_from(User)):
            raise Conflict("the retail store is not empty (load with replace=True to overwrite)")
        for model, rows in batches:
            if rows:
                session.execute(insert(model), rows)
        return store_counts(session)


def _fetch(session: Session, model: Any, *order_by: Any) -> list[SimpleNamespace]:
    """All rows of a table as attribute objects, JSON columns decoded in one ``json.loads``.

    Decoding thousands of small JSON values one call each dominated export time; joining the
    raw texts into one array and decoding it once is several times faster.
    """
    table = model.__table__
    json_columns = [c.name for c in table.columns if isinstance(c.type, JSON)]
    columns = [type_coerce(c, Text) if c.name in json_columns else c for c in table.columns]
    result = session.connection().execute(select(*columns).order_by(*order_by))
    names = list(result.keys())
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    raw = [row[name] for row in rows for name in json_columns]
    if raw and all(isinstance(text, str | None) for text in raw):
        decoded = iter(json.loads("[" + ",".join(t or "null" for t in raw) + "]"))
        for row in rows:
            for name in json_columns:
                row[name] = next(decoded)
    return [SimpleNamespace(**row) for row in rows]


def export_tau2_db(session: Session) -> Tau2Db:
    """The whole store in the tau2 ``db.json`` format (optional order fields only when set)."""

    def grouped(model: Any, key: str) -> defaultdict[str, list[Any]]:
        groups: defaultdict[str, list[Any]] = defaultdict(list)
        for row in _fetch(session, model, getattr(model, key), model.position):
            groups[getattr(row, key)].append(row)
        return groups

    variants = grouped(Variant, "product_id")
    methods = grouped(PaymentMethod, "user_id")
    items = grouped(OrderItem, "order_id")
    fulfillments = grouped(Fulfillment, "order_id")
    payments = grouped(PaymentTransaction, "order_id")
    return {
        "products": {
            p.product_id: product_dict(p, variants[p.product_id])
            for p in _fetch(session, Product, Product.position)
        },
        "users": {
            u.user_id: user_dict(u, methods[u.user_id])
            for u in _fetch(session, User, User.position)
        },
        "orders": {
            o.order_id: order_dict(
                o,
                items[o.order_id],
                fulfillments[o.order_id],
                payments[o.order_id],
                include_nulls=False,
            )
            for o in _fetch(session, Order, Order.position)
        },
    }
