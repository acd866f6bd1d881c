"""The 16 retail tools of tau2-bench's retail domain, in the order of its ``tools.json``."""

from __future__ import annotations

from typing import Any

from waypost.domains.retail.tools.read_tools import (
    calculate,
    find_user_id_by_email,
    find_user_id_by_name_zip,
    get_item_details,
    get_order_details,
    get_product_details,
    get_user_details,
    list_all_product_types,
    transfer_to_human_agents,
)
from waypost.domains.retail.tools.write_tools import (
    cancel_pending_order,
    exchange_delivered_order_items,
    modify_pending_order_address,
    modify_pending_order_items,
    modify_pending_order_payment,
    modify_user_address,
    return_delivered_order_items,
)
from waypost.tools.base import RiskLevel, Tool
from waypost.tools.registry import ToolRegistry

__all__ = ["CONSEQUENTIAL_TOOLS", "RETAIL_TOOLS", "build_retail_registry"]

RETAIL_TOOLS: tuple[Tool[Any, Any], ...] = (
    calculate,
    cancel_pending_order,
    exchange_delivered_order_items,
    find_user_id_by_name_zip,
    find_user_id_by_email,
    get_order_details,
    get_product_details,
    get_item_details,
    get_user_details,
    list_all_product_types,
    modify_pending_order_address,
    modify_pending_order_items,
    modify_pending_order_payment,
    modify_user_address,
    return_delivered_order_items,
    transfer_to_human_agents,
)


def build_retail_registry() -> ToolRegistry:
    """A registry holding the 16 retail tools (a new one each call, so callers may extend it)."""
    return ToolRegistry(RETAIL_TOOLS)


CONSEQUENTIAL_TOOLS: frozenset[str] = frozenset(
    {t.name for t in RETAIL_TOOLS if t.risk is not RiskLevel.READ} | {"transfer_to_human_agents"}
)
"""Calls that change the store, plus the hand-over to a person: what a case's outcome is."""
