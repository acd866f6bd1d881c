"""``ToolRunner``: how graph nodes call a domain's typed tools.

Every call goes through ``ToolRegistry.execute`` (validation, typed errors, one transaction per
write) and is reported to the run's callbacks (a Langfuse tool observation, a ledger row).
Side-effecting calls are idempotent per (thread, turn, call id): a crash replay of the node gets
the recorded outcome, a replay with different arguments is a ``Conflict`` outcome (never a silent
success), and the next turn acts afresh.

Tools see the tenant of the run that calls them (``ToolContext.tenant``): the server puts the
caller's tenant in ``config["configurable"]["tenant"]`` (``RUN_TENANT_KEY``), so a domain's
tenant-scoped tables are filtered by the caller even though one compiled graph serves every
tenant.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from waypost.graphs.kit.turns import ConversationState, turn_scope
from waypost.observability.tracing import observe_tool_call
from waypost.tools import ToolContext, ToolOutcome, ToolRegistry, ToolSpec

__all__ = ["RUN_TENANT_KEY", "ToolRunner", "plain", "run_tenant"]

RUN_TENANT_KEY = "tenant"
"""The ``configurable`` key where the server puts a run's tenant (it overrides a client's)."""


def plain(value: Any) -> Any:
    """A tool result as plain JSON data (what goes into checkpointed state)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run_tenant(config: RunnableConfig | None) -> str | None:
    """The tenant of the run ``config`` belongs to, when the server set one."""
    value = ((config or {}).get("configurable") or {}).get(RUN_TENANT_KEY)
    return str(value) if value else None


class ToolRunner:
    """A domain's tool registry bound to a database, as graph nodes use it.

    ``tenant`` is the default for calls made outside a served run (the CLI, evals); a call made
    by a run uses that run's tenant.
    """

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

    def spec(self, name: str) -> ToolSpec:
        return self.registry.get(name).spec

    def execute(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        scope: str,
        call_id: str,
        tenant: str | None = None,
    ) -> ToolOutcome:
        """Run one call under an idempotency ``scope``, reported to the run's callbacks."""
        ctx = ToolContext(
            session_factory=self.session_factory, run_id=scope, tenant=tenant or self.tenant
        )
        with observe_tool_call(name, arguments, tool_call_id=call_id) as obs:
            outcome = self.registry.execute(name, arguments, ctx, tool_call_id=call_id)
            error = outcome.error
            obs.finish(
                plain(outcome.result),
                error_code=error.code if error else None,
                error_message=error.message if error else None,
            )
        return outcome

    def read(self, name: str, **arguments: Any) -> Any | None:
        """A read tool's result as plain data, or None when it failed (e.g. not found)."""
        outcome = self.execute(name, arguments, scope="read", call_id=f"read:{name}")
        return plain(outcome.result) if outcome.ok else None

    def call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        state: ConversationState,
        config: RunnableConfig,
        call_id: str,
    ) -> dict[str, Any]:
        """A call of the current turn (idempotent per thread, turn and ``call_id``), as data."""
        outcome = self.execute(
            name,
            arguments,
            scope=turn_scope(state, config),
            call_id=call_id,
            tenant=run_tenant(config),
        )
        error = outcome.error
        return {
            "tool": name,
            "call_id": call_id,
            "arguments": arguments,
            "ok": outcome.ok,
            "result": plain(outcome.result),
            "error_code": error.code if error else None,
            "error_message": error.message if error else None,
            "replayed": outcome.replayed,
        }
