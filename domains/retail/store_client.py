"""The retail workflow's view of the store: typed reads and idempotent writes through the kit.

Reads return plain JSON-able dicts (they go into the checkpointed state). Writes go through the
kit's ``ToolRunner``: idempotent per (thread, turn, call), so a replayed ``execute`` step
returns the recorded outcome instead of acting twice, and a new turn acts afresh.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from sqlalchemy.orm import Session, sessionmaker
from waypost.graphs.kit import ConversationState, ToolRunner
from waypost.tools import ToolRegistry

__all__ = ["StoreClient"]


class StoreClient:
    def __init__(
        self,
        registry: ToolRegistry,
        session_factory: sessionmaker[Session],
        *,
        tenant: str | None = None,
    ) -> None:
        self.runner = ToolRunner(registry, session_factory, tenant=tenant)
        self.registry = registry
        self.session_factory = session_factory

    def find_user_by_email(self, email: str) -> str | None:
        found = self.runner.read("find_user_id_by_email", email=email)
        return str(found) if found else None

    def find_user_by_name_zip(self, first: str, last: str, zip_code: str) -> str | None:
        found = self.runner.read(
            "find_user_id_by_name_zip", first_name=first, last_name=last, zip=zip_code
        )
        return str(found) if found else None

    def user(self, user_id: str) -> dict[str, Any] | None:
        return self.runner.read("get_user_details", user_id=user_id)

    def order(self, order_id: str) -> dict[str, Any] | None:
        return self.runner.read("get_order_details", order_id=order_id)

    def product(self, product_id: str) -> dict[str, Any] | None:
        return self.runner.read("get_product_details", product_id=product_id)

    def call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        state: ConversationState,
        config: RunnableConfig,
        call_id: str,
    ) -> dict[str, Any]:
        """One write of the current turn, idempotent per (thread, turn, ``call_id``)."""
        return self.runner.call(name, arguments, state=state, config=config, call_id=call_id)
