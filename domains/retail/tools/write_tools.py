"""The seven retail tools that change the store, with tau2-bench's exact rules and messages.

Each runs inside the registry's transaction (with the idempotency record), so a refused request
changes nothing. Rows they change are locked (``FOR UPDATE`` on PostgreSQL) against concurrent
calls on the same order or gift card.
"""

from __future__ import annotations

from collections.abc import Sequence

from waypost.domains.retail.tools._queries import (
    get_order,
    get_payment_method,
    get_user,
    get_variant,
    order_record,
    user_record,
)
from waypost.domains.retail.tools.args import (
    CancelPendingOrderArgs,
    ExchangeDeliveredOrderItemsArgs,
    ModifyPendingOrderAddressArgs,
    ModifyPendingOrderItemsArgs,
    ModifyPendingOrderPaymentArgs,
    ModifyUserAddressArgs,
    ReturnDeliveredOrderItemsArgs,
)
from waypost.domains.retail.tools.records import OrderRecord, UserRecord
from waypost.domains.retail.tools.store import Order, OrderItem, PaymentTransaction
from waypost.runtime.errors import (
    InsufficientBalance,
    InvalidState,
    TerminalToolError,
    ToolNotFound,
    ValidationFailed,
)
from waypost.tools.base import RiskLevel, ToolContext, tool

__all__ = [
    "cancel_pending_order",
    "exchange_delivered_order_items",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
]

CANCEL_REASONS = frozenset({"no longer needed", "ordered by mistake"})


def _append_payment(order: Order, kind: str, amount: float, payment_method_id: str) -> None:
    order.payment_history.append(
        PaymentTransaction(
            position=len(order.payment_history),
            transaction_type=kind,
            amount=amount,
            payment_method_id=payment_method_id,
        )
    )


def _first_item(order: Order, item_id: str) -> OrderItem:
    item = next((i for i in order.items if i.item_id == item_id), None)
    if item is None:
        raise ToolNotFound(f"Item {item_id} not found")
    return item


def _check_items_in_order(order: Order, item_ids: Sequence[str], message: str) -> None:
    """Every requested item is in the order, counting duplicates (two of X needs two X)."""
    in_order = [i.item_id for i in order.items]
    for item_id in item_ids:
        if item_ids.count(item_id) > in_order.count(item_id):
            raise ToolNotFound(message.format(item_id=item_id), details={"item_id": item_id})


@tool(
    risk=RiskLevel.IRREVERSIBLE,
    result=OrderRecord,
    description="Cancel a pending order. If the order is already processed or delivered,\n\nit "
    "cannot be cancelled. The agent needs to explain the cancellation detail\nand ask for "
    "explicit user confirmation (yes/no) to proceed. If the user confirms,\nthe order status "
    "will be changed to 'cancelled' and the payment will be refunded.\nThe refund will be added "
    "to the user's gift card balance immediately if the payment\nwas made using a gift card, "
    "otherwise the refund would take 5-7 business days to process.\nThe function returns the "
    "order details after the cancellation.",
)
def cancel_pending_order(ctx: ToolContext, args: CancelPendingOrderArgs) -> OrderRecord:
    order = get_order(ctx.db, args.order_id, lock=True)
    if order.status != "pending":
        raise InvalidState(
            "Non-pending order cannot be cancelled", details={"status": order.status}
        )
    if args.reason not in CANCEL_REASONS:
        raise ValidationFailed("Invalid reason", details={"allowed": sorted(CANCEL_REASONS)})
    refunds = [(p.amount, p.payment_method_id) for p in order.payment_history]
    for amount, method_id in refunds:
        method = get_payment_method(ctx.db, order.user_id, method_id, lock=True)
        if method.source == "gift_card":  # gift cards are refunded at once
            method.balance = round((method.balance or 0.0) + amount, 2)
    order.status = "cancelled"
    order.cancel_reason = args.reason
    for amount, method_id in refunds:
        _append_payment(order, "refund", amount, method_id)
    return order_record(order)


@tool(
    risk=RiskLevel.IRREVERSIBLE,
    result=OrderRecord,
    description="Exchange items in a delivered order to new items of the same product type.\n\n"
    "For a delivered order, return or exchange can be only done once by the agent.\nThe agent "
    "needs to explain the exchange detail and ask for explicit user confirmation (yes/no) to "
    "proceed.",
)
def exchange_delivered_order_items(
    ctx: ToolContext, args: ExchangeDeliveredOrderItemsArgs
) -> OrderRecord:
    order = get_order(ctx.db, args.order_id, lock=True)
    if order.status != "delivered":
        raise InvalidState(
            "Non-delivered order cannot be exchanged", details={"status": order.status}
        )
    _check_items_in_order(order, args.item_ids, "Number of {item_id} not found.")
    if len(args.item_ids) != len(args.new_item_ids):
        raise ValidationFailed("The number of items to be exchanged should match.")
    diff_price: float = 0
    for item_id, new_item_id in zip(args.item_ids, args.new_item_ids, strict=True):
        item = _first_item(order, item_id)
        variant = get_variant(ctx.db, item.product_id, new_item_id)
        if not variant.available:
            raise InvalidState(f"New item {new_item_id} not found or available")
        diff_price += variant.price - item.price
    diff_price = round(diff_price, 2)
    method = get_payment_method(ctx.db, order.user_id, args.payment_method_id)
    if method.source == "gift_card" and (method.balance or 0.0) < diff_price:
        raise InsufficientBalance(
            "Insufficient gift card balance to pay for the price difference",
            details={"balance": method.balance, "price_difference": diff_price},
        )
    order.status = "exchange requested"
    order.exchange_items = sorted(args.item_ids)
    order.exchange_new_items = sorted(args.new_item_ids)
    order.exchange_payment_method_id = args.payment_method_id
    order.exchange_price_difference = diff_price
    return order_record(order)


@tool(
    risk=RiskLevel.WRITE,
    result=OrderRecord,
    description="Modify the shipping address of a pending order. The agent needs to explain the "
    "modification detail and ask for explicit user confirmation (yes/no) to proceed.",
)
def modify_pending_order_address(
    ctx: ToolContext, args: ModifyPendingOrderAddressArgs
) -> OrderRecord:
    order = get_order(ctx.db, args.order_id, lock=True)
    if "pending" not in order.status:  # "pending (item modified)" may change address too
        raise InvalidState("Non-pending order cannot be modified", details={"status": order.status})
    order.address1, order.address2 = args.address1, args.address2
    order.city, order.state, order.country, order.zip = (
        args.city,
        args.state,
        args.country,
        args.zip,
    )
    return order_record(order)


@tool(
    risk=RiskLevel.WRITE,
    result=OrderRecord,
    description="Modify items in a pending order to new items of the same product type. For a "
    "pending order, this function can only be called once. The agent needs to explain the "
    "exchange detail and ask for explicit user confirmation (yes/no) to proceed.",
)
def modify_pending_order_items(ctx: ToolContext, args: ModifyPendingOrderItemsArgs) -> OrderRecord:
    order = get_order(ctx.db, args.order_id, lock=True)
    if order.status != "pending":  # strictly: items can be modified only once
        raise InvalidState("Non-pending order cannot be modified", details={"status": order.status})
    _check_items_in_order(order, args.item_ids, "{item_id} not found")
    if len(args.item_ids) != len(args.new_item_ids):
        raise ValidationFailed("The number of items to be exchanged should match")
    diff_price: float = 0
    variant = None
    for item_id, new_item_id in zip(args.item_ids, args.new_item_ids, strict=True):
        if item_id == new_item_id:
            raise ValidationFailed("The new item id should be different from the old item id")
        item = _first_item(order, item_id)
        variant = get_variant(ctx.db, item.product_id, new_item_id)
        if not variant.available:
            raise InvalidState(f"New item {new_item_id} not found or available")
        diff_price += variant.price - item.price
    method = get_payment_method(ctx.db, order.user_id, args.payment_method_id, lock=True)
    if method.source == "gift_card" and (method.balance or 0.0) < diff_price:
        raise InsufficientBalance(
            "Insufficient gift card balance to pay for the new item",
            details={"balance": method.balance, "price_difference": diff_price},
        )
    kind = "payment" if diff_price > 0 else "refund"
    _append_payment(order, kind, abs(diff_price), args.payment_method_id)
    if method.source == "gift_card":
        method.balance = round((method.balance or 0.0) - diff_price, 2)
    for item_id, new_item_id in zip(args.item_ids, args.new_item_ids, strict=True):
        item = _first_item(order, item_id)
        item.item_id = new_item_id
        # tau2-bench sets price and options from the LAST new item for every modified line;
        # kept as is because the reference end states (and so the score) depend on it.
        assert variant is not None
        item.price = variant.price
        item.options = dict(variant.options)
    order.status = "pending (item modified)"
    return order_record(order)


@tool(
    risk=RiskLevel.WRITE,
    result=OrderRecord,
    description="Modify the payment method of a pending order. The agent needs to explain the "
    "modification detail and ask for explicit user confirmation (yes/no) to proceed.",
)
def modify_pending_order_payment(
    ctx: ToolContext, args: ModifyPendingOrderPaymentArgs
) -> OrderRecord:
    order = get_order(ctx.db, args.order_id, lock=True)
    if "pending" not in order.status:
        raise InvalidState("Non-pending order cannot be modified", details={"status": order.status})
    method = get_payment_method(ctx.db, order.user_id, args.payment_method_id, lock=True)
    history = order.payment_history
    if len(history) != 1 or history[0].transaction_type != "payment":
        raise InvalidState("There should be exactly one payment for a pending order")
    old_method_id = history[0].payment_method_id
    if old_method_id == args.payment_method_id:
        raise ValidationFailed("The new payment method should be different from the current one")
    amount = history[0].amount
    if method.source == "gift_card" and (method.balance or 0.0) < amount:
        raise InsufficientBalance(
            "Insufficient gift card balance to pay for the order",
            details={"balance": method.balance, "amount": amount},
        )
    _append_payment(order, "payment", amount, args.payment_method_id)
    _append_payment(order, "refund", amount, old_method_id)
    if method.source == "gift_card":
        method.balance = round((method.balance or 0.0) - amount, 2)
    old_method = get_payment_method(ctx.db, order.user_id, old_method_id, lock=True)
    if old_method.source == "gift_card":
        old_method.balance = round((old_method.balance or 0.0) + amount, 2)
    return order_record(order)


@tool(
    risk=RiskLevel.WRITE,
    result=UserRecord,
    description="Modify the default address of a user. The agent needs to explain the "
    "modification detail and ask for explicit user confirmation (yes/no) to proceed.",
)
def modify_user_address(ctx: ToolContext, args: ModifyUserAddressArgs) -> UserRecord:
    user = get_user(ctx.db, args.user_id, lock=True)
    user.address1, user.address2 = args.address1, args.address2
    user.city, user.state, user.country, user.zip = args.city, args.state, args.country, args.zip
    return user_record(user)


@tool(
    risk=RiskLevel.IRREVERSIBLE,
    result=OrderRecord,
    description="Return some items of a delivered order.\n\nThe order status will be changed to "
    "'return requested'.\nThe agent needs to explain the return detail and ask for explicit "
    "user confirmation (yes/no) to proceed.\nThe user will receive follow-up email for how and "
    "where to return the item.",
)
def return_delivered_order_items(
    ctx: ToolContext, args: ReturnDeliveredOrderItemsArgs
) -> OrderRecord:
    order = get_order(ctx.db, args.order_id, lock=True)
    if order.status != "delivered":
        raise InvalidState(
            "Non-delivered order cannot be returned", details={"status": order.status}
        )
    method = get_payment_method(ctx.db, order.user_id, args.payment_method_id)
    original = order.payment_history[0].payment_method_id if order.payment_history else None
    if method.source != "gift_card" and args.payment_method_id != original:
        raise TerminalToolError(
            "Payment method should be the original payment method",
            details={"original_payment_method_id": original},
        )
    _check_items_in_order(order, args.item_ids, "Some item not found")
    order.status = "return requested"
    order.return_items = sorted(args.item_ids)
    order.return_payment_method_id = args.payment_method_id
    return order_record(order)
