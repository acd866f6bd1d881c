"""The workflow's view of the store: typed tool calls through the tool registry.

Reads return plain JSON-able dicts (they go into the checkpointed state); writes go through
``ToolRegistry.execute`` with an idempotency key made of the thread id and the action index,
so a replayed ``execute`` step returns the recorded outcome instead of acting twice.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from waypost.observability.tracing import observe_tool_call
from waypost.tools.base import ToolContext, ToolOutcome
from waypost.tools.registry import ToolRegistry

__all__ = ["StoreClient"]


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class StoreClient:
    def __init__(
        self,
        registry: ToolRegistry,
        session_factory: sessionmaker[Session],
        *,
        tenant: str | None = None,
    ) -> None:
        self.registry = registry
        self.session_factory = session_factory
        self.tenant = tenant

    def _ctx(self, scope: str) -> ToolContext:
        return ToolContext(session_factory=self.session_factory, run_id=scope, tenant=self.tenant)

    def _execute(
        self, name: str, arguments: dict[str, Any], scope: str, tool_call_id: str
    ) -> ToolOutcome:
        """Run through the registry, reported to the run's callbacks (Langfuse, ledger)."""
        with observe_tool_call(name, arguments, tool_call_id=tool_call_id) as obs:
            outcome = self.registry.execute(
                name, arguments, self._ctx(scope), tool_call_id=tool_call_id
            )
            error = outcome.error
            obs.finish(
                _plain(outcome.result),
                error_code=error.code if error else None,
                error_message=error.message if error else None,
            )
        return outcome

    def _read(self, name: str, **args: Any) -> Any | None:
        outcome = self._execute(name, args, "read", f"read:{name}")
        return _plain(outcome.result) if outcome.ok else None

    def find_user_by_email(self, email: str) -> str | None:
        found = self._read("find_user_id_by_email", email=email)
        return str(found) if found else None

    def find_user_by_name_zip(self, first: str, last: str, zip_code: str) -> str | None:
        found = self._read(
            "find_user_id_by_name_zip", first_name=first, last_name=last, zip=zip_code
        )
        return str(found) if found else None

    def user(self, user_id: str) -> dict[str, Any] | None:
        return self._read("get_user_details", user_id=user_id)

    def order(self, order_id: str) -> dict[str, Any] | None:
        return self._read("get_order_details", order_id=order_id)

    def product(self, product_id: str) -> dict[str, Any] | None:
        return self._read("get_product_details", product_id=product_id)

    def call(
        self, name: str, arguments: dict[str, Any], *, scope: str, tool_call_id: str
    ) -> dict[str, Any]:
        """Run a tool idempotently per (scope, tool_call_id); returns a JSON-able outcome."""
        outcome = self._execute(name, arguments, scope, tool_call_id)
        error = outcome.error
        return {
            "ok": outcome.ok,
            "result": _plain(outcome.result),
            "error_code": error.code if error else None,
            "error_message": error.message if error else None,
            "replayed": outcome.replayed,
        }
