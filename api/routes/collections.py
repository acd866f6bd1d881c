"""Retrieval collections of the caller's tenant: ingest documents, search, list, delete.

Another tenant's collection answers 404 like one that does not exist. Ingest is synchronous
and bounded per request (``MAX_DOCUMENTS``); a larger corpus goes in several requests or
through ``waypost docs ingest``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from waypost.api.deps import AppServices, Tenant
from waypost.retrieval import ensure_collection, ingest_documents, list_collections, search
from waypost.retrieval.embeddings import make_embedder
from waypost.retrieval.loaders import SourceDocument
from waypost.retrieval.search import collection_of
from waypost.retrieval.store import delete_collection, get_collection, validate_name
from waypost.runtime.errors import ConfigError, DatabaseError, ValidationFailed
from waypost.server.services import Services

router = APIRouter(prefix="/collections", tags=["retrieval"])

MAX_DOCUMENTS = 1000


class DocumentIn(BaseModel):
    id: str = Field(min_length=1, max_length=512)
    title: str = Field(default="", max_length=2000)
    content: str = Field(min_length=1)
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)


class IngestBody(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1)
    replace: bool = False


class SearchBody(BaseModel):
    query: str = Field(min_length=1, max_length=20_000)
    k: int = Field(default=5, ge=1, le=100)
    mode: str = Field(default="hybrid", pattern="^(hybrid|lexical|vector)$")
    filters: dict[str, Any] | None = None


def _engine(services: Services) -> Engine:
    """The app's synchronous engine (the one graphs use; the services dispose of it)."""
    factory = services.graphs.deps.session_factory
    bind = factory.kw.get("bind") if factory is not None else None
    if not isinstance(bind, Engine):
        raise DatabaseError("the server has no synchronous database engine")
    return bind


@router.get("")
async def list_(services: AppServices, tenant: Tenant) -> dict[str, Any]:
    def read() -> list[dict[str, Any]]:
        with _engine(services).connect() as conn:
            return list_collections(conn, tenant)

    return {"collections": await asyncio.to_thread(read)}


@router.get("/{collection}")
async def get_(collection: str, services: AppServices, tenant: Tenant) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        with _engine(services).connect() as conn:
            get_collection(conn, tenant, collection)
            return next(c for c in list_collections(conn, tenant) if c["name"] == collection)

    return await asyncio.to_thread(read)


class CollectionBody(BaseModel):
    embedder: str | None = Field(
        default=None, max_length=128, description="local:minilm (default), openai:<model>, hash"
    )


@router.put("/{collection}", status_code=201)
async def create(
    collection: str, services: AppServices, tenant: Tenant, body: CollectionBody | None = None
) -> dict[str, Any]:
    """Create the collection (idempotent with the same embedder; 409 with another)."""
    validate_name(collection)
    settings = services.settings.retrieval

    def run() -> dict[str, Any]:
        engine = _engine(services)
        try:
            embedder = make_embedder(settings, body.embedder if body else None)
        except ConfigError as exc:  # an unknown or unconfigured embedder is the caller's input
            raise ValidationFailed(exc.message, details={"field": "embedder"}) from None
        coll = ensure_collection(engine, tenant, collection, embedder)
        return {"name": coll.name, "embedder": coll.embedder, "dim": coll.dim}

    return await asyncio.to_thread(run)


@router.post("/{collection}/documents")
async def ingest(
    collection: str, body: IngestBody, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    """Add or update documents (by id) of an existing collection; unchanged ones cost nothing.
    ``replace`` removes the collection's documents missing from the body."""
    validate_name(collection)
    if len(body.documents) > MAX_DOCUMENTS:
        raise ValidationFailed(
            f"at most {MAX_DOCUMENTS} documents per request",
            details={"field": "documents", "limit": MAX_DOCUMENTS},
        )
    settings = services.settings.retrieval

    def run() -> dict[str, Any]:
        engine = _engine(services)
        coll = collection_of(engine, tenant, collection)
        embedder = make_embedder(settings, coll.embedder)
        docs = [
            SourceDocument(d.id, d.title, d.content, "api", dict(d.metadata))
            for d in body.documents
        ]
        report = ingest_documents(
            engine,
            coll,
            docs,
            embedder,
            replace=body.replace,
            max_chars=settings.max_chunk_chars,
            overlap_chars=settings.overlap_chars,
        )
        return report.as_dict()

    return await asyncio.to_thread(run)


@router.post("/{collection}/search")
async def search_(
    collection: str, body: SearchBody, services: AppServices, tenant: Tenant
) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        engine = _engine(services)
        coll = collection_of(engine, tenant, collection)
        embedder = make_embedder(services.settings.retrieval, coll.embedder)
        return search(
            engine,
            embedder,
            tenant=tenant,
            collection=collection,
            query=body.query,
            k=body.k,
            mode=body.mode,
            filters=body.filters,
        ).as_dict()

    return await asyncio.to_thread(run)


@router.delete("/{collection}", status_code=204)
async def delete_(collection: str, services: AppServices, tenant: Tenant) -> Response:
    await asyncio.to_thread(delete_collection, _engine(services), tenant, collection)
    return Response(status_code=204)
