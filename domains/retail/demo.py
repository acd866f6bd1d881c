"""The demo's sample case, chosen from whatever store is loaded (demo or reference data)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools.store import Order, User
from waypost.runtime.errors import NotFound

__all__ = ["sample_case"]


def sample_case(session_factory: sessionmaker[Session]) -> str:
    """A cancellation request for the first customer (by id) with a pending order."""
    with session_factory() as session:
        row = session.execute(
            select(User, Order)
            .join(Order, Order.user_id == User.user_id)
            .where(Order.status == "pending")
            .order_by(User.user_id, Order.order_id)
            .limit(1)
        ).first()
    if row is None:
        raise NotFound("the store has no pending order to build a sample case from")
    user, order = row
    return (
        f"Hi, this is {user.first_name} {user.last_name}, zip code {user.zip}. "
        f"Please cancel my order {order.order_id}: I ordered it by mistake."
    )
