"""The retail tools that only read (and the two generic ones: calculate, transfer)."""

from __future__ import annotations

from sqlalchemy import select
from waypost.domains.retail.tools._calculator import calculate as evaluate
from waypost.domains.retail.tools._queries import (
    fold,
    get_order,
    get_product,
    get_user,
    order_record,
    product_record,
    user_record,
    variant_record,
)
from waypost.domains.retail.tools.args import (
    CalculateArgs,
    FindUserIdByEmailArgs,
    FindUserIdByNameZipArgs,
    GetItemDetailsArgs,
    GetOrderDetailsArgs,
    GetProductDetailsArgs,
    GetUserDetailsArgs,
    ListAllProductTypesArgs,
    TransferToHumanAgentsArgs,
)
from waypost.domains.retail.tools.records import (
    OrderRecord,
    ProductRecord,
    UserRecord,
    VariantRecord,
)
from waypost.domains.retail.tools.store import Product, User, Variant
from waypost.runtime.errors import ToolNotFound
from waypost.tools.base import RiskLevel, ToolContext, tool

__all__ = [
    "calculate",
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_item_details",
    "get_order_details",
    "get_product_details",
    "get_user_details",
    "list_all_product_types",
    "transfer_to_human_agents",
]


@tool(
    risk=RiskLevel.READ,
    result=str,
    description="Calculate the result of a mathematical expression.",
)
def calculate(ctx: ToolContext, args: CalculateArgs) -> str:
    return evaluate(args.expression)


@tool(
    risk=RiskLevel.READ,
    result=str,
    description="Find user id by first name, last name, and zip code. If the user is not found, "
    "the function\n\nwill return an error message. By default, find user id by email, and only "
    "call this function\nif the user is not found by email or cannot remember email.",
)
def find_user_id_by_name_zip(ctx: ToolContext, args: FindUserIdByNameZipArgs) -> str:
    # Names match case- and accent-insensitively (a caller spells "Vázquez" as "Vazquez");
    # the zip, the actual verification factor, must match exactly.
    first, last = fold(args.first_name), fold(args.last_name)
    stmt = select(User.user_id, User.first_name, User.last_name).where(User.zip == args.zip)
    for user_id, first_name, last_name in ctx.db.execute(stmt.order_by(User.position)):
        if fold(first_name) == first and fold(last_name) == last:
            return str(user_id)
    raise ToolNotFound("User not found")


@tool(
    risk=RiskLevel.READ,
    result=str,
    description="Find user id by email. If the user is not found, the function will return an "
    "error message.",
)
def find_user_id_by_email(ctx: ToolContext, args: FindUserIdByEmailArgs) -> str:
    wanted = fold(args.email)
    exact = ctx.db.scalars(
        select(User.user_id).where(User.email == args.email).order_by(User.position)
    ).first()
    if exact is not None:
        return exact
    for user_id, email in ctx.db.execute(select(User.user_id, User.email).order_by(User.position)):
        if fold(email) == wanted:
            return str(user_id)
    raise ToolNotFound("User not found")


@tool(
    risk=RiskLevel.READ,
    result=OrderRecord,
    description="Get the status and details of an order.",
)
def get_order_details(ctx: ToolContext, args: GetOrderDetailsArgs) -> OrderRecord:
    return order_record(get_order(ctx.db, args.order_id))


@tool(
    risk=RiskLevel.READ,
    result=ProductRecord,
    description="Get the inventory details of a product.",
)
def get_product_details(ctx: ToolContext, args: GetProductDetailsArgs) -> ProductRecord:
    return product_record(get_product(ctx.db, args.product_id))


@tool(
    risk=RiskLevel.READ,
    result=VariantRecord,
    description="Get the inventory details of an item.",
)
def get_item_details(ctx: ToolContext, args: GetItemDetailsArgs) -> VariantRecord:
    variant = ctx.db.get(Variant, args.item_id)
    if variant is None:
        raise ToolNotFound("Item not found", details={"item_id": args.item_id})
    return variant_record(variant)


@tool(
    risk=RiskLevel.READ,
    result=UserRecord,
    description="Get the details of a user, including their orders.",
)
def get_user_details(ctx: ToolContext, args: GetUserDetailsArgs) -> UserRecord:
    return user_record(get_user(ctx.db, args.user_id))


@tool(
    risk=RiskLevel.READ,
    result=dict[str, str],
    description="List the name and product id of all product types.\n\nEach product type has a "
    "variety of different items with unique item ids and options.\nThere are only 50 product "
    "types in the store.",
)
def list_all_product_types(ctx: ToolContext, args: ListAllProductTypesArgs) -> dict[str, str]:
    """Product name -> product id, sorted by name (a later duplicate name wins, as in tau2)."""
    rows = ctx.db.execute(select(Product.name, Product.product_id).order_by(Product.position))
    by_name = {name: product_id for name, product_id in rows}
    return dict(sorted(by_name.items()))


@tool(
    risk=RiskLevel.READ,
    result=str,
    description="Transfer the user to a human agent, with a summary of the user's issue.\n\nOnly "
    "transfer if\n -  the user explicitly asks for a human agent\n -  given the policy and the "
    "available tools, you cannot solve the user's issue.",
)
def transfer_to_human_agents(ctx: ToolContext, args: TransferToHumanAgentsArgs) -> str:
    # The hand-off itself is the graph's job; the tool only acknowledges it, as in tau2.
    return "Transfer successful"
