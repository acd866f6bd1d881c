"""Store lookups shared by the retail tools; each raises the typed error tau2 words the same."""

from __future__ import annotations

import unicodedata

from sqlalchemy.orm import Session
from waypost.domains.retail.tools._codec import order_dict, product_dict, user_dict, variant_dict
from waypost.domains.retail.tools.records import (
    OrderRecord,
    ProductRecord,
    UserRecord,
    VariantRecord,
)
from waypost.domains.retail.tools.store import Order, PaymentMethod, Product, User, Variant
from waypost.runtime.errors import ToolNotFound

__all__ = [
    "fold",
    "get_order",
    "get_payment_method",
    "get_product",
    "get_user",
    "get_variant",
    "order_record",
    "product_record",
    "user_record",
    "variant_record",
]


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name or email ("Vázquez" matches "vazquez")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def get_order(session: Session, order_id: str, *, lock: bool = False) -> Order:
    order = session.get(Order, order_id, with_for_update=lock)
    if order is None:
        raise ToolNotFound("Order not found", details={"order_id": order_id})
    return order


def get_user(session: Session, user_id: str, *, lock: bool = False) -> User:
    user = session.get(User, user_id, with_for_update=lock)
    if user is None:
        raise ToolNotFound("User not found", details={"user_id": user_id})
    return user


def get_product(session: Session, product_id: str) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise ToolNotFound("Product not found", details={"product_id": product_id})
    return product


def get_variant(session: Session, product_id: str, item_id: str) -> Variant:
    """The item ``item_id`` of product ``product_id`` (an item of another product is refused)."""
    get_product(session, product_id)
    variant = session.get(Variant, item_id)
    if variant is None or variant.product_id != product_id:
        raise ToolNotFound("Variant not found", details={"item_id": item_id})
    return variant


def get_payment_method(
    session: Session, user_id: str, payment_method_id: str, *, lock: bool = False
) -> PaymentMethod:
    """A payment method of the user (another user's method is "not found")."""
    get_user(session, user_id)
    method = session.get(PaymentMethod, (user_id, payment_method_id), with_for_update=lock)
    if method is None:
        raise ToolNotFound(
            "Payment method not found", details={"payment_method_id": payment_method_id}
        )
    return method


def order_record(order: Order) -> OrderRecord:
    return OrderRecord.model_validate(
        order_dict(
            order, order.items, order.fulfillments, order.payment_history, include_nulls=True
        )
    )


def user_record(user: User) -> UserRecord:
    return UserRecord.model_validate(user_dict(user, user.payment_methods))


def product_record(product: Product) -> ProductRecord:
    return ProductRecord.model_validate(product_dict(product, product.variants))


def variant_record(variant: Variant) -> VariantRecord:
    return VariantRecord.model_validate(variant_dict(variant))
