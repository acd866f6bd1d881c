"""Argument models of the 16 retail tools: the names and descriptions of tau2's ``tools.json``."""

from __future__ import annotations

from pydantic import Field
from waypost.tools.base import ToolArgs

__all__ = [
    "CalculateArgs",
    "CancelPendingOrderArgs",
    "ExchangeDeliveredOrderItemsArgs",
    "FindUserIdByEmailArgs",
    "FindUserIdByNameZipArgs",
    "GetItemDetailsArgs",
    "GetOrderDetailsArgs",
    "GetProductDetailsArgs",
    "GetUserDetailsArgs",
    "ListAllProductTypesArgs",
    "ModifyPendingOrderAddressArgs",
    "ModifyPendingOrderItemsArgs",
    "ModifyPendingOrderPaymentArgs",
    "ModifyUserAddressArgs",
    "ReturnDeliveredOrderItemsArgs",
    "TransferToHumanAgentsArgs",
]

ORDER_ID = (
    "The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of "
    "the order id."
)
USER_ID = "The user id, such as 'sara_doe_496'."
PAYMENT_METHOD_ID = (
    "The payment method id to pay or receive refund for the item price difference, such as "
    "'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or "
    "order details."
)
ADDRESS1 = "The first line of the address, such as '123 Main St'."
ADDRESS2 = "The second line of the address, such as 'Apt 1' or ''."
CITY = "The city, such as 'San Francisco'."
STATE = "The state, such as 'CA'."
COUNTRY = "The country, such as 'USA'."
ZIP = "The zip code, such as '12345'."


class CalculateArgs(ToolArgs):
    expression: str = Field(
        description="The mathematical expression to calculate, such as '2 + 2'. The expression "
        "can contain numbers, operators (+, -, *, /), parentheses, and spaces."
    )


class CancelPendingOrderArgs(ToolArgs):
    order_id: str = Field(description=ORDER_ID)
    reason: str = Field(
        description="The reason for cancellation, which should be either 'no longer needed' or "
        "'ordered by mistake'."
    )


class ExchangeDeliveredOrderItemsArgs(ToolArgs):
    order_id: str = Field(description=ORDER_ID)
    item_ids: list[str] = Field(
        description="The item ids to be exchanged, each such as '1008292230'. There could be "
        "duplicate items in the list."
    )
    new_item_ids: list[str] = Field(
        description="The item ids to be exchanged for, each such as '1008292230'.\nThere could "
        "be duplicate items in the list. Each new item id should match the item id\nin the same "
        "position and be of the same product."
    )
    payment_method_id: str = Field(
        description="The payment method id to pay or receive refund for the item price "
        "difference,\nsuch as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked "
        "up\nfrom the user or order details."
    )


class FindUserIdByNameZipArgs(ToolArgs):
    first_name: str = Field(description="The first name of the customer, such as 'John'.")
    last_name: str = Field(description="The last name of the customer, such as 'Doe'.")
    zip: str = Field(description="The zip code of the customer, such as '12345'.")


class FindUserIdByEmailArgs(ToolArgs):
    email: str = Field(description="The email of the user, such as 'something@example.com'.")


class GetOrderDetailsArgs(ToolArgs):
    order_id: str = Field(description=ORDER_ID)


class GetProductDetailsArgs(ToolArgs):
    product_id: str = Field(
        description="The product id, such as '6086499569'. Be careful the product id is "
        "different from the item id."
    )


class GetItemDetailsArgs(ToolArgs):
    item_id: str = Field(
        description="The item id, such as '6086499569'. Be careful the item id is different "
        "from the product id."
    )


class GetUserDetailsArgs(ToolArgs):
    user_id: str = Field(description=USER_ID)


class ListAllProductTypesArgs(ToolArgs):
    pass


class ModifyPendingOrderAddressArgs(ToolArgs):
    order_id: str = Field(description=ORDER_ID)
    address1: str = Field(description=ADDRESS1)
    address2: str = Field(description=ADDRESS2)
    city: str = Field(description=CITY)
    state: str = Field(description=STATE)
    country: str = Field(description=COUNTRY)
    zip: str = Field(description=ZIP)


class ModifyPendingOrderItemsArgs(ToolArgs):
    order_id: str = Field(description=ORDER_ID)
    item_ids: list[str] = Field(
        description="The item ids to be modified, each such as '1008292230'. There could be "
        "duplicate items in the list."
    )
    new_item_ids: list[str] = Field(
        description="The item ids to be modified for, each such as '1008292230'. There could be "
        "duplicate items in the list. Each new item id should match the item id in the same "
        "position and be of the same product."
    )
    payment_method_id: str = Field(description=PAYMENT_METHOD_ID)


class ModifyPendingOrderPaymentArgs(ToolArgs):
    order_id: str = Field(description=ORDER_ID)
    payment_method_id: str = Field(description=PAYMENT_METHOD_ID)


class ModifyUserAddressArgs(ToolArgs):
    user_id: str = Field(description=USER_ID)
    address1: str = Field(description=ADDRESS1)
    address2: str = Field(description=ADDRESS2)
    city: str = Field(description=CITY)
    state: str = Field(description=STATE)
    country: str = Field(description=COUNTRY)
    zip: str = Field(description=ZIP)


class ReturnDeliveredOrderItemsArgs(ToolArgs):
    order_id: str = Field(description=ORDER_ID)
    item_ids: list[str] = Field(
        description="The item ids to be returned, each such as '1008292230'. There could be "
        "duplicate items in the list."
    )
    payment_method_id: str = Field(
        description="The payment method id to pay or receive refund for the item price "
        "difference, such as 'gift_card_0000000' or 'credit_card_0000000'.\nThese can be looked "
        "up from the user or order details."
    )


class TransferToHumanAgentsArgs(ToolArgs):
    summary: str = Field(description="A summary of the user's issue.")
