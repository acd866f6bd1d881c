"""The cross-thread store, scoped by tenant: one official ``BaseStore`` shared by every tenant.

``TenantStore`` wraps the official store (``AsyncSqliteStore``/``AsyncPostgresStore``, opened
by ``runtime.checkpoint.open_async_store``) and prefixes every namespace with the tenant on the
way in and strips it on the way out, so a tenant sees, searches and lists only its own items
and never learns the prefix. The HTTP routes (``/store/...``) and the graphs (``get_store()``,
``runtime.store``) use the same wrapper, so what a node writes is what the API reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from waypost.runtime.errors import ValidationFailed

__all__ = ["TenantStore", "validate_namespace"]


def validate_namespace(
    namespace: Iterable[Any], *, what: str = "Namespace", required: bool = False
) -> tuple[str, ...]:
    """Labels must be non-empty strings without periods (the LangGraph server's rule); an item's
    namespace (``required``) has at least one."""
    labels = tuple(namespace)
    if required and not labels:
        raise ValidationFailed(f"{what} must have at least one label")
    for label in labels:
        if not isinstance(label, str) or not label or "." in label:
            raise ValidationFailed(
                f"{what} label {label!r} must be a non-empty string without periods",
                details={"namespace": list(map(str, labels))},
            )
    return labels


class TenantStore(BaseStore):
    """A view of ``base`` holding only ``tenant``'s items (namespaces prefixed internally)."""

    def __init__(self, base: BaseStore, tenant: str) -> None:
        validate_namespace((tenant,), what="Tenant")
        self.base = base
        self.tenant = tenant
        self.supports_ttl = base.supports_ttl
        self.ttl_config = base.ttl_config

    # -- ops in ---------------------------------------------------------------------------------
    def _scoped(self, op: Op) -> Op:
        t = self.tenant
        if isinstance(op, GetOp):
            return op._replace(namespace=(t, *op.namespace))
        if isinstance(op, PutOp):
            return op._replace(namespace=(t, *op.namespace))
        if isinstance(op, SearchOp):
            return op._replace(namespace_prefix=(t, *op.namespace_prefix))
        if isinstance(op, ListNamespacesOp):
            conditions = list(op.match_conditions or ())
            prefixes = [c for c in conditions if c.match_type == "prefix"]
            if prefixes:
                conditions = [
                    c._replace(path=(t, *c.path)) if c.match_type == "prefix" else c
                    for c in conditions
                ]
            else:
                conditions.insert(0, MatchCondition(match_type="prefix", path=(t,)))
            depth = None if op.max_depth is None else op.max_depth + 1
            return op._replace(match_conditions=tuple(conditions), max_depth=depth)
        raise TypeError(f"unknown store operation {type(op).__name__}")

    # -- results out ----------------------------------------------------------------------------
    def _strip_item(self, item: Item) -> Item:
        namespace = item.namespace[1:]
        if isinstance(item, SearchItem):
            return SearchItem(
                namespace=namespace,
                key=item.key,
                value=item.value,
                created_at=item.created_at,
                updated_at=item.updated_at,
                score=item.score,
            )
        return Item(
            namespace=namespace,
            key=item.key,
            value=item.value,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )

    def _unscoped(self, op: Op, result: Result) -> Result:
        found: Any = result
        if isinstance(op, GetOp):
            return None if found is None else self._strip_item(found)
        if isinstance(op, SearchOp):
            return [self._strip_item(i) for i in found]
        if isinstance(op, ListNamespacesOp):
            return [tuple(ns[1:]) for ns in found if ns[1:]]
        return result

    # -- BaseStore ------------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        results = self.base.batch([self._scoped(op) for op in ops])
        return [self._unscoped(op, r) for op, r in zip(ops, results, strict=True)]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        results = await self.base.abatch([self._scoped(op) for op in ops])
        return [self._unscoped(op, r) for op, r in zip(ops, results, strict=True)]
