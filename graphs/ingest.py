"""Document batches into a tenant's collection: the shared ingest step and the ``waypost.ingest``
workflow that runs a large batch on the run queue.

``POST /collections/{name}/documents`` ingests a small batch in the request and hands a large
one to the queue as a run of ``waypost.ingest``, so the batch gets what every run gets: a
durable row, a lease with failover to another worker, cancellation, events a client can join,
a trace. Both paths call ``ingest_batch``, so they report the same way.

The workflow is internal: it is not in the workflow registry, so no assistant exists for it,
``/assistants/search`` does not list it and ``POST /threads/{id}/runs`` cannot start it (the
collections route's ``configure`` scope guards it, not ``run``). The server resolves it by
graph id (``server/services.GraphCache``).

A bad document does not sink its batch: it gets an error in the report (``invalid_document``,
``duplicate_id``, ``empty_content``, or ``ingest_failed`` when the database refused it) and the
others land. ``replace`` prunes the collection only when every document of the batch landed,
as ``rsync --delete`` skips deletion after an I/O error: a failed document must not take its
stored copy with it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypedDict

import sqlalchemy.exc
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine
from waypost.graphs.kit.tools import run_tenant
from waypost.graphs.registry import GraphDeps, WorkflowSpec
from waypost.retrieval import FileError, IngestReport, SourceDocument, ingest_documents
from waypost.retrieval.embeddings import Embedder, make_embedder
from waypost.retrieval.store import Collection, get_collection
from waypost.runtime.errors import ConfigError, ValidationFailed
from waypost.runtime.settings import RetrievalSettings

__all__ = [
    "INGEST_GRAPH_ID",
    "IngestCancelled",
    "IngestDocument",
    "Progress",
    "build_ingest_graph",
    "ingest_batch",
    "ingest_spec",
    "screen_documents",
]

INGEST_GRAPH_ID = "waypost.ingest"
SLICE = 64  # documents per transaction: a failure retries only its slice, one by one
PROGRESS_EVERY_S = 0.5  # at most this often a progress event (and always the last one)
# what one document can cause; anything else (the database away, the embedder down) is the
# batch's problem and fails the run, which the queue may retry
_DOCUMENT_ERRORS = (
    sqlalchemy.exc.DataError,
    sqlalchemy.exc.IntegrityError,
    ValueError,
    UnicodeError,
)

Progress = Callable[[int, int], None]  # (documents done, documents in the batch)


class IngestDocument(BaseModel):
    """One document of a batch, as clients send it."""

    id: str = Field(min_length=1, max_length=512)
    title: str = Field(default="", max_length=2000)
    content: str = Field(min_length=1)
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)


class IngestCancelled(Exception):
    """The run was cancelled: stop between two slices (each slice commits on its own)."""


class IngestState(TypedDict, total=False):
    collection: str
    # the batch in; its size once ingested, so neither the checkpoint nor the run's output
    # keeps a second copy of a batch of many megabytes
    documents: list[dict[str, Any]] | int
    replace: bool
    documents_added: int
    documents_updated: int
    documents_unchanged: int
    documents_removed: int
    documents_failed: int
    chunks_added: int
    chunks_removed: int
    chunks_unchanged: int
    embedded: int
    cached: int
    errors: list[dict[str, Any]]
    replace_skipped: bool


# -- the shared step ------------------------------------------------------------------------------
def screen_documents(
    documents: Sequence[IngestDocument | dict[str, Any]],
) -> tuple[list[SourceDocument], list[FileError], bool]:
    """Documents that can be ingested, errors for the others, and whether every document id
    of the batch is accounted for (``replace`` may prune only then)."""
    good: list[SourceDocument] = []
    errors: list[FileError] = []
    seen: set[str] = set()
    complete = True
    for index, raw in enumerate(documents):
        try:
            doc = raw if isinstance(raw, IngestDocument) else IngestDocument.model_validate(raw)
        except ValidationError as exc:
            where = raw.get("id") if isinstance(raw, dict) else None
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            errors.append(
                FileError(
                    str(where) if isinstance(where, str) and where else f"documents[{index}]",
                    "invalid_document",
                    f"{field}: {first.get('msg')}",
                )
            )
            complete = False
            continue
        if doc.id in seen:
            errors.append(FileError(doc.id, "duplicate_id", f"id {doc.id!r} twice in the batch"))
            continue
        seen.add(doc.id)
        if not doc.content.strip():
            errors.append(FileError(doc.id, "empty_content", "the content is blank"))
            complete = False
            continue
        good.append(SourceDocument(doc.id, doc.title, doc.content, "api", dict(doc.metadata)))
    return good, errors, complete


def _merge(total: IngestReport, part: IngestReport) -> None:
    for item in dataclasses.fields(IngestReport):
        if item.name == "errors":
            total.errors.extend(part.errors)
        else:
            setattr(total, item.name, getattr(total, item.name) + getattr(part, item.name))


class _Lander:
    """Ingests slices; a slice the database refuses is retried one document at a time."""

    def __init__(self, engine: Engine, coll: Collection, embedder: Embedder, settings: Any):
        self.engine = engine
        self.coll = coll
        self.embedder = embedder
        self.options = {
            "max_chars": settings.max_chunk_chars,
            "overlap_chars": settings.overlap_chars,
        }
        self.report = IngestReport()
        self.failed: set[str] = set()

    def land(self, docs: list[SourceDocument]) -> None:
        try:
            part = ingest_documents(
                self.engine, self.coll, docs, self.embedder, batch=len(docs), **self.options
            )
        except _DOCUMENT_ERRORS as exc:
            if len(docs) > 1:
                for doc in docs:
                    self.land([doc])
                return
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.report.errors.append(FileError(docs[0].key, "ingest_failed", message[:500]))
            self.failed.add(docs[0].key)
            return
        _merge(self.report, part)


def ingest_batch(
    engine: Engine,
    settings: RetrievalSettings,
    tenant: str,
    collection: str,
    documents: Sequence[IngestDocument | dict[str, Any]],
    *,
    replace: bool = False,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """Ingest a batch into the tenant's existing collection; the report as JSON.

    Blocking (database and embedder): call it on a worker thread. ``stop`` is checked between
    slices; setting it raises ``IngestCancelled`` there. ``embedder`` defaults to the one the
    collection was built with.
    """
    with engine.connect() as conn:
        coll = get_collection(conn, tenant, collection)
    if embedder is None:
        try:
            embedder = make_embedder(settings, coll.embedder)
        except ConfigError as exc:  # e.g. an OpenAI embedder whose endpoint is no longer set
            raise ValidationFailed(exc.message, details={"collection": collection}) from None
    good, errors, complete = screen_documents(documents)
    lander = _Lander(engine, coll, embedder, settings)
    lander.report.errors.extend(errors)
    total, done = len(documents), len(documents) - len(good)
    for start in range(0, len(good), SLICE):
        if stop is not None and stop.is_set():
            raise IngestCancelled(f"cancelled after {done} of {total} documents")
        part = good[start : start + SLICE]
        lander.land(part)
        done += len(part)
        if on_progress is not None:
            on_progress(done, total)
    if on_progress is not None and not good:
        on_progress(done, total)
    pruned = replace and complete and not lander.failed
    if pruned:  # every document is stored now: this pass only finds the ones to remove
        prune = ingest_documents(engine, coll, good, embedder, replace=True, **lander.options)
        lander.report.documents_removed += prune.documents_removed
        lander.report.chunks_removed += prune.chunks_removed
    body = lander.report.as_dict()
    body["documents_failed"] = len(lander.report.errors)
    body["replace_skipped"] = replace and not pruned
    return body


# -- the workflow ---------------------------------------------------------------------------------
def _engine_of(deps: GraphDeps) -> Engine:
    factory = deps.session_factory
    bind = factory.kw.get("bind") if factory is not None else None
    if not isinstance(bind, Engine):
        raise ConfigError("the ingest workflow needs the app's synchronous database engine")
    return bind


def _progress_writer(collection: str) -> Progress:
    """Progress as ``custom`` stream events, sent from the ingest thread to the event loop."""
    writer = get_stream_writer()
    loop = asyncio.get_running_loop()
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last < PROGRESS_EVERY_S:
            return
        last = now
        event = {"event": "ingest_progress", "collection": collection, "done": done}
        loop.call_soon_threadsafe(writer, {**event, "total": total})

    return report


def build_ingest_graph(deps: GraphDeps) -> Any:
    """One node: ingest the run's batch into the run's tenant's collection."""
    engine = _engine_of(deps)
    settings = deps.settings.retrieval

    async def ingest(state: IngestState, config: RunnableConfig) -> dict[str, Any]:
        tenant = run_tenant(config)
        if tenant is None:  # only the server starts this workflow, and it always sets one
            raise ValidationFailed("an ingest run needs the tenant the server sets")
        documents = state.get("documents")
        if not isinstance(documents, list):
            raise ValidationFailed("an ingest run's input needs a list of documents")
        collection = str(state.get("collection") or "")
        stop = threading.Event()
        try:
            report = await asyncio.to_thread(
                ingest_batch,
                engine,
                settings,
                tenant,
                collection,
                documents,
                replace=bool(state.get("replace")),
                on_progress=_progress_writer(collection),
                stop=stop,
            )
        except asyncio.CancelledError:  # the thread stops at its next slice
            stop.set()
            raise
        return {"documents": len(documents), **report}

    builder = StateGraph(IngestState)
    builder.add_node("ingest", ingest)
    builder.add_edge(START, "ingest")
    builder.add_edge("ingest", END)
    return builder.compile(checkpointer=deps.checkpointer, name=INGEST_GRAPH_ID)


def ingest_spec() -> WorkflowSpec:
    """The internal workflow, for the server's graph cache (never the user registry)."""
    return WorkflowSpec(
        name=INGEST_GRAPH_ID,
        description="Ingest a large document batch into a collection (internal).",
        build=build_ingest_graph,
        metadata={"internal": True},
    )
