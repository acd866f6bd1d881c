"""``seed_store``: fill the retail store from a tau2 ``db.json`` or with the demo store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools.demo_data import DEFAULT_SEED, generate_demo_db
from waypost.domains.retail.tools.loader import load_tau2_db
from waypost.domains.retail.tools.store import User
from waypost.runtime.errors import Conflict

__all__ = ["seed_store", "store_is_empty"]


def store_is_empty(session_factory: sessionmaker[Session]) -> bool:
    with session_factory() as session:
        return not session.scalar(select(func.count()).select_from(User))


def seed_store(
    session_factory: sessionmaker[Session],
    source: Path | None = None,
    force: bool = False,
    *,
    seed: int = DEFAULT_SEED,
) -> dict[str, int]:
    """Load ``source`` (tau2 ``db.json`` format) or the demo store; returns row counts.

    A store that already has data is left alone and ``{}`` returned (so ``waypost demo`` can
    call this every time), unless ``force`` replaces it.
    """
    if not force and not store_is_empty(session_factory):
        return {}
    data = source if source is not None else generate_demo_db(seed)
    try:
        return load_tau2_db(session_factory, data, replace=force)
    except Conflict:  # another process seeded it between our check and our load
        return {}
