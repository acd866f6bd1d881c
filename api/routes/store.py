"""The cross-thread store (``client.store.*``): put, get, delete, search items, list namespaces.

Backed by the official LangGraph store on the app database and scoped to the caller's tenant
(``server.store_api.TenantStore``); graphs see the same items through ``get_store()``.
Namespaces travel as label lists in bodies and as ``a.b.c`` in the GET query string.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from langgraph.store.base import NOT_PROVIDED, Item
from waypost.api.deps import AppServices, Tenant
from waypost.api.schemas import StoreDeleteBody, StoreNamespacesBody, StorePutBody, StoreSearchBody
from waypost.runtime.errors import ValidationFailed
from waypost.server.store_api import TenantStore, validate_namespace

router = APIRouter(prefix="/store", tags=["store"])


def _store(services: AppServices, tenant: str) -> TenantStore:
    return TenantStore(services.item_store, tenant)


def _item_json(item: Item) -> dict[str, Any]:
    body = item.dict()
    score = getattr(item, "score", NOT_PROVIDED)
    if score is not NOT_PROVIDED:
        body["score"] = score
    return body


@router.put("/items", status_code=204)
async def put_item(body: StorePutBody, services: AppServices, tenant: Tenant) -> Response:
    namespace = validate_namespace(body.namespace or (), required=True)
    await _store(services, tenant).aput(
        namespace,
        body.key,
        body.value,
        index=body.index,
        ttl=body.ttl if body.ttl is not None else NOT_PROVIDED,
    )
    return Response(status_code=204)


@router.get("/items")
async def get_item(
    services: AppServices,
    tenant: Tenant,
    key: str | None = None,
    namespace: str = "",
    refresh_ttl: str | None = None,
) -> dict[str, Any] | None:
    """The item, or ``null`` when there is none."""
    if not key:
        raise ValidationFailed("Key is required")
    labels = validate_namespace(namespace.split(".") if namespace else ("",))
    refresh = None if refresh_ttl is None else refresh_ttl.lower() == "true"
    item = await _store(services, tenant).aget(labels, key, refresh_ttl=refresh)
    return None if item is None else _item_json(item)


@router.delete("/items", status_code=204)
async def delete_item(
    services: AppServices,
    tenant: Tenant,
    body: StoreDeleteBody | None = None,
    key: str | None = None,
    namespace: str | None = None,
) -> Response:
    """Delete by the JSON body the SDKs send, or by the query GET uses (``?namespace=a.b&key=k``):
    proxies such as Agent Chat UI's Next.js passthrough forward no DELETE body."""
    if body is None:
        if not key:
            raise ValidationFailed(
                "give the item as a JSON body {namespace, key} or as ?namespace=a.b&key=k "
                "(a proxy may have dropped the DELETE body)",
                details={"fields": ["namespace", "key"]},
            )
        body = StoreDeleteBody(namespace=namespace.split(".") if namespace else None, key=key)
    labels = validate_namespace(body.namespace or (), required=True)
    await _store(services, tenant).adelete(labels, body.key)
    return Response(status_code=204)


@router.post("/items/search")
async def search_items(
    body: StoreSearchBody, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    """Items under a namespace prefix, filtered by value (``$eq``, ``$gt``, ...), newest first."""
    prefix = validate_namespace(body.namespace_prefix or ())
    items = await _store(services, tenant).asearch(
        prefix,
        query=body.query,
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
        refresh_ttl=body.refresh_ttl,
    )
    return {"items": [_item_json(i) for i in items]}


@router.post("/namespaces")
async def list_namespaces(
    body: StoreNamespacesBody, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    prefix = validate_namespace(body.prefix or (), what="Prefix") or None
    suffix = validate_namespace(body.suffix or (), what="Suffix") or None
    found = await _store(services, tenant).alist_namespaces(
        prefix=prefix,
        suffix=suffix,
        max_depth=body.max_depth,
        limit=body.limit,
        offset=body.offset,
    )
    return {"namespaces": [list(ns) for ns in found]}
