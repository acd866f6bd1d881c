"""Pydantic models of the tau2 retail records, the result types of the retail tools.

Field order follows tau2's data model, so a result dumped to JSON reads like the reference
tool outputs (an order always carries its optional fields, null when unset).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "Address",
    "CreditCard",
    "Fulfillment",
    "GiftCard",
    "OrderItem",
    "OrderRecord",
    "Payment",
    "PaymentMethodRecord",
    "Paypal",
    "ProductRecord",
    "UserName",
    "UserRecord",
    "VariantRecord",
]


class Address(BaseModel):
    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


class UserName(BaseModel):
    first_name: str
    last_name: str


class CreditCard(BaseModel):
    source: Literal["credit_card"]
    id: str
    brand: str
    last_four: str


class Paypal(BaseModel):
    source: Literal["paypal"]
    id: str


class GiftCard(BaseModel):
    source: Literal["gift_card"]
    id: str
    balance: float


PaymentMethodRecord = Annotated[CreditCard | Paypal | GiftCard, Field(discriminator="source")]


class UserRecord(BaseModel):
    user_id: str
    name: UserName
    address: Address
    email: str
    payment_methods: dict[str, PaymentMethodRecord]
    orders: list[str]


class VariantRecord(BaseModel):
    item_id: str
    options: dict[str, Any]
    available: bool
    price: float


class ProductRecord(BaseModel):
    name: str
    product_id: str
    variants: dict[str, VariantRecord]


class OrderItem(BaseModel):
    name: str
    product_id: str
    item_id: str
    price: float
    options: dict[str, Any]


class Fulfillment(BaseModel):
    tracking_id: list[str]
    item_ids: list[str]


class Payment(BaseModel):
    transaction_type: Literal["payment", "refund"]
    amount: float
    payment_method_id: str


class OrderRecord(BaseModel):
    order_id: str
    user_id: str
    address: Address
    items: list[OrderItem]
    status: str
    fulfillments: list[Fulfillment]
    payment_history: list[Payment]
    cancel_reason: str | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: float | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None
