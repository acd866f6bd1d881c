"""Retrieval collections of the caller's tenant: ingest documents, search, list, delete.

Another tenant's collection answers 404 like one that does not exist. A batch of at most
``SYNC_MAX_DOCUMENTS`` documents is ingested in the request (200, the report). A larger one, or
any batch sent with ``"background": true``, is accepted (202) as a run of the internal
``waypost.ingest`` workflow on the durable run queue, on a new thread of the caller's tenant:
poll ``GET /threads/{thread_id}/runs/{run_id}``, join its stream (``custom`` progress events)
or ``.../join`` for its output, the same report. ``MAX_DOCUMENTS`` bounds a batch either way
(422 ``too_many_documents``); the body may be up to ``api.max_ingest_body_bytes``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from waypost.api.deps import AppServices, Tenant
from waypost.graphs.ingest import IngestDocument, ingest_batch
from waypost.retrieval import ensure_collection, list_collections, search
from waypost.retrieval.embeddings import make_embedder
from waypost.retrieval.search import collection_of
from waypost.retrieval.store import delete_collection, get_collection, validate_name
from waypost.runtime.errors import ConfigError, DatabaseError, TooManyDocuments, ValidationFailed
from waypost.server.ingest import start_ingest_run
from waypost.server.services import Services

router = APIRouter(prefix="/collections", tags=["retrieval"])

SYNC_MAX_DOCUMENTS = 200  # a batch this small is ingested in the request
MAX_DOCUMENTS = 50_000  # the most a request may carry (a background run)


class IngestBody(BaseModel):
    documents: list[IngestDocument] = Field(min_length=1)
    replace: bool = Field(
        default=False,
        description="remove the collection's documents missing from this batch (skipped, "
        "`replace_skipped`, when a document of the batch failed)",
    )
    background: bool = Field(
        default=False,
        description=f"run as a background run even at {SYNC_MAX_DOCUMENTS} documents or fewer "
        "(larger batches always are)",
    )


class IngestError(BaseModel):
    path: str = Field(description="the document's id (or `documents[i]` without a usable id)")
    code: str = Field(description="invalid_document, duplicate_id, empty_content, ingest_failed")
    message: str


class IngestReportOut(BaseModel):
    """What a batch did: the 200 body, and the output of a background run."""

    documents_added: int
    documents_updated: int
    documents_unchanged: int
    documents_removed: int
    documents_failed: int
    chunks_added: int
    chunks_removed: int
    chunks_unchanged: int
    embedded: int = Field(description="chunks that went through the embedding model")
    cached: int = Field(description="chunks whose embedding came from the cache")
    errors: list[IngestError]
    replace_skipped: bool = False


class IngestAccepted(BaseModel):
    """A batch queued as a background run: where to follow it."""

    run_id: str
    thread_id: str
    status: str = Field(description="the run's status: pending (or running)")
    collection: str
    documents: int
    run: str = Field(description="GET it to poll the run; `/join` waits for the report")
    stream: str = Field(description="GET it for the run's events (progress: `custom`)")


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


@router.post(
    "/{collection}/documents",
    response_model=IngestReportOut,
    responses={
        202: {
            "model": IngestAccepted,
            "description": f"More than {SYNC_MAX_DOCUMENTS} documents (or `background`): "
            "queued as a run; its output is the report.",
        }
    },
)
async def ingest(collection: str, body: IngestBody, services: AppServices, tenant: Tenant) -> Any:
    """Add or update documents (by id) of an existing collection; unchanged ones cost nothing.
    A bad document gets an error in the report and the others still land."""
    validate_name(collection)
    count = len(body.documents)
    if count > MAX_DOCUMENTS:
        raise TooManyDocuments(
            f"at most {MAX_DOCUMENTS} documents per request; split the batch",
            details={"field": "documents", "limit": MAX_DOCUMENTS, "received": count},
        )
    if body.background or count > SYNC_MAX_DOCUMENTS:
        return await _enqueue(collection, body, services, tenant)
    settings = services.settings.retrieval

    def run() -> dict[str, Any]:
        return ingest_batch(
            _engine(services), settings, tenant, collection, body.documents, replace=body.replace
        )

    return await asyncio.to_thread(run)


async def _enqueue(
    collection: str, body: IngestBody, services: Services, tenant: Tenant
) -> JSONResponse:
    """Queue the batch (after checking the collection exists, so a typo is 404 now)."""
    await asyncio.to_thread(collection_of, _engine(services), tenant, collection)
    documents = [d.model_dump() for d in body.documents]
    run = await start_ingest_run(
        services.store, tenant, collection, documents, replace=body.replace
    )
    where = f"/threads/{run.thread_id}/runs/{run.run_id}"
    accepted = IngestAccepted(
        run_id=run.run_id,
        thread_id=run.thread_id,
        status=run.status,
        collection=collection,
        documents=len(documents),
        run=where,
        stream=f"{where}/stream",
    )
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Content-Location": where})


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
