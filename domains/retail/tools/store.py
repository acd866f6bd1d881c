"""SQLAlchemy models of the retail store, the ORM view of migration ``0002_retail_store``.

Every field of the tau2-bench retail records is kept: list order lives in ``position`` columns,
dict order (variant options) in JSON columns, so ``export_tau2_db`` reproduces ``db.json``.
Money is a float, as in tau2, rounded to cents where tau2 rounds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from waypost.runtime.db import Base

__all__ = [
    "STORE_MODELS",
    "Fulfillment",
    "Order",
    "OrderItem",
    "PaymentMethod",
    "PaymentTransaction",
    "Product",
    "User",
    "Variant",
]


class User(Base):
    """A customer: name, default address, email, payment methods and their order ids."""

    __tablename__ = "retail_users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    first_name: Mapped[str] = mapped_column(String(128))
    last_name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(256))
    address1: Mapped[str] = mapped_column(String(256))
    address2: Mapped[str] = mapped_column(String(256))
    city: Mapped[str] = mapped_column(String(128))
    country: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    zip: Mapped[str] = mapped_column(String(16))
    order_ids: Mapped[list[str]] = mapped_column(JSON)

    payment_methods: Mapped[list[PaymentMethod]] = relationship(
        order_by="PaymentMethod.position", cascade="all, delete-orphan"
    )


class PaymentMethod(Base):
    """A credit card (brand, last four), PayPal account, or gift card (balance) of a user."""

    __tablename__ = "retail_payment_methods"

    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("retail_users.user_id", ondelete="CASCADE"), primary_key=True
    )
    payment_method_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_four: Mapped[str | None] = mapped_column(String(4), nullable=True)
    balance: Mapped[float | None] = mapped_column(Float, nullable=True)


class Product(Base):
    """A product type (e.g. "T-Shirt") whose variants are the purchasable items."""

    __tablename__ = "retail_products"

    product_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128), index=True)

    variants: Mapped[list[Variant]] = relationship(
        order_by="Variant.position", cascade="all, delete-orphan"
    )


class Variant(Base):
    """One item of a product: its options, availability and price."""

    __tablename__ = "retail_variants"

    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("retail_products.product_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    available: Mapped[bool] = mapped_column(Boolean)
    price: Mapped[float] = mapped_column(Float)


class Order(Base):
    """An order with its shipping address, status and the fields that requests set."""

    __tablename__ = "retail_orders"

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("retail_users.user_id", ondelete="CASCADE"), index=True
    )
    address1: Mapped[str] = mapped_column(String(256))
    address2: Mapped[str] = mapped_column(String(256))
    city: Mapped[str] = mapped_column(String(128))
    country: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    zip: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), index=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    exchange_items: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    exchange_new_items: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    exchange_payment_method_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    exchange_price_difference: Mapped[float | None] = mapped_column(Float, nullable=True)
    return_items: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    return_payment_method_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    items: Mapped[list[OrderItem]] = relationship(
        order_by="OrderItem.position", cascade="all, delete-orphan"
    )
    fulfillments: Mapped[list[Fulfillment]] = relationship(
        order_by="Fulfillment.position", cascade="all, delete-orphan"
    )
    payment_history: Mapped[list[PaymentTransaction]] = relationship(
        order_by="PaymentTransaction.position", cascade="all, delete-orphan"
    )


class OrderItem(Base):
    """One line of an order (an order may hold the same item twice, so the key is position)."""

    __tablename__ = "retail_order_items"

    order_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("retail_orders.order_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    price: Mapped[float] = mapped_column(Float)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)


class Fulfillment(Base):
    """A shipment of an order: tracking ids and the item ids it carries."""

    __tablename__ = "retail_fulfillments"

    order_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("retail_orders.order_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_ids: Mapped[list[str]] = mapped_column(JSON)
    item_ids: Mapped[list[str]] = mapped_column(JSON)


class PaymentTransaction(Base):
    """One entry of an order's payment history (a payment or a refund), in order."""

    __tablename__ = "retail_payment_transactions"

    order_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("retail_orders.order_id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_type: Mapped[str] = mapped_column(String(16))
    amount: Mapped[float] = mapped_column(Float)
    payment_method_id: Mapped[str] = mapped_column(String(64))


# Parents before children: the insert order for loading, reversed for deleting.
STORE_MODELS: tuple[type[Base], ...] = (
    User,
    PaymentMethod,
    Product,
    Variant,
    Order,
    OrderItem,
    Fulfillment,
    PaymentTransaction,
)
