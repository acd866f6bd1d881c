"""The demo's sample case, chosen from whatever store is loaded (demo or reference data)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools.store import Order, User
from waypost.graphs.plugins import DemoCase
from waypost.runtime.errors import NotFound

__all__ = ["prepare_demo", "sample_case"]


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


def prepare_demo(session_factory: sessionmaker[Session], message: str | None) -> DemoCase:
    """Seed the demo store when it is empty, then a sample case (or the user's own text)."""
    from waypost.domains.retail.tools import seed_store

    counts = seed_store(session_factory, None, force=False)
    text = message or sample_case(session_factory)
    return DemoCase(
        workflow="retail_support",
        payload={"message": text},
        text=text,
        notice=f"demo store seeded: {counts}" if counts else None,
    )
