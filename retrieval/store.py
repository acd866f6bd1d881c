"""Collections and their documents in the app database: ingest (incremental) and reads.

A collection belongs to a tenant; another tenant's collection is "not found". Re-ingesting a
document whose text is unchanged touches nothing; a changed document gets a new version, keeps
the chunks whose text is unchanged (same id, same embedding), embeds only the new ones (or
takes them from the embedding cache, keyed by content hash) and drops the chunks that
disappeared. Documents missing from a ``replace`` ingest of a folder are removed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from waypost.retrieval import _tables as t
from waypost.retrieval.chunking import Chunk, chunk_document, content_hash
from waypost.retrieval.embeddings import Embedder
from waypost.retrieval.loaders import FileError, SourceDocument
from waypost.runtime.errors import Conflict, NotFound, ValidationFailed

__all__ = [
    "Collection",
    "IngestReport",
    "VectorIndex",
    "delete_collection",
    "ensure_collection",
    "get_collection",
    "ingest_documents",
    "list_collections",
]

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class Collection:
    id: int
    tenant: str
    name: str
    embedder: str
    dim: int
    version: int


@dataclass
class IngestReport:
    documents_added: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    embedded: int = 0  # chunks that went through the model
    cached: int = 0  # chunks whose embedding came from the cache
    errors: list[FileError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in self.__dict__.items() if k != "errors"}
        body["errors"] = [e.__dict__ for e in self.errors]
        return body


def _now() -> datetime:
    return datetime.now(UTC)


def validate_name(name: str) -> str:
    if not name or len(name) > 128 or not set(name) <= _NAME_CHARS:
        raise ValidationFailed(
            "a collection name is 1-128 letters, digits, '_', '-' or '.'",
            details={"field": "name"},
        )
    return name


def _row(r: Any) -> Collection:
    return Collection(r.id, r.tenant, r.name, r.embedder, r.dim, r.version)


def get_collection(conn: Connection, tenant: str, name: str) -> Collection:
    row = conn.execute(
        sa.select(t.collections).where(
            t.collections.c.tenant == tenant, t.collections.c.name == name
        )
    ).first()
    if row is None:
        raise NotFound(f"collection {name!r} not found", details={"collection": name})
    return _row(row)


def list_collections(conn: Connection, tenant: str) -> list[dict[str, Any]]:
    docs = (
        sa.select(sa.func.count())
        .select_from(t.documents)
        .where(t.documents.c.collection_id == t.collections.c.id)
        .scalar_subquery()
    )
    n_chunks = (
        sa.select(sa.func.count())
        .select_from(t.chunks)
        .where(t.chunks.c.collection_id == t.collections.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(t.collections, docs.label("documents"), n_chunks.label("chunks"))
        .where(t.collections.c.tenant == tenant)
        .order_by(t.collections.c.name)
    ).all()
    return [
        {
            "name": r.name,
            "embedder": r.embedder,
            "dim": r.dim,
            "version": r.version,
            "documents": r.documents,
            "chunks": r.chunks,
        }
        for r in rows
    ]


def ensure_collection(engine: Engine, tenant: str, name: str, embedder: Embedder) -> Collection:
    """The tenant's collection ``name``, created for ``embedder`` when new. A collection keeps
    the embedder it was created with: vectors of two models cannot be compared."""
    validate_name(name)
    with engine.begin() as conn:
        try:
            found = get_collection(conn, tenant, name)
        except NotFound:
            conn.execute(
                sa.insert(t.collections).values(
                    tenant=tenant,
                    name=name,
                    embedder=embedder.name,
                    dim=embedder.dim,
                    version=0,
                    created_at=_now(),
                )
            )
            found = get_collection(conn, tenant, name)
    if found.embedder != embedder.name:
        raise Conflict(
            f"collection {name!r} was built with {found.embedder}, not {embedder.name}",
            details={"collection": name, "embedder": found.embedder},
        )
    return found


def delete_collection(engine: Engine, tenant: str, name: str) -> None:
    with engine.begin() as conn:
        found = get_collection(conn, tenant, name)
        conn.execute(sa.delete(t.chunks).where(t.chunks.c.collection_id == found.id))
        conn.execute(sa.delete(t.documents).where(t.documents.c.collection_id == found.id))
        conn.execute(sa.delete(t.collections).where(t.collections.c.id == found.id))
    VectorIndex.forget(engine, found.id)


def _vectors_for(
    conn: Connection, embedder: Embedder, pending: list[Chunk], report: IngestReport
) -> dict[str, bytes]:
    """Embeddings by content hash: from the cache where present, else from the model."""
    hashes = sorted({c.content_hash for c in pending})
    found: dict[str, bytes] = {}
    for start in range(0, len(hashes), 500):
        part = hashes[start : start + 500]
        for row in conn.execute(
            sa.select(t.embedding_cache.c.content_hash, t.embedding_cache.c.embedding).where(
                t.embedding_cache.c.embedder == embedder.name,
                t.embedding_cache.c.content_hash.in_(part),
            )
        ):
            found[row.content_hash] = bytes(row.embedding)
    todo: dict[str, str] = {}
    for c in pending:
        if c.content_hash not in found:
            todo.setdefault(c.content_hash, c.embed_text)
    report.cached += sum(1 for c in pending if c.content_hash in found)
    if todo:
        keys = list(todo)
        matrix = embedder.embed([todo[k] for k in keys])
        new = {k: matrix[i].astype(np.float32).tobytes() for i, k in enumerate(keys)}
        conn.execute(
            sa.insert(t.embedding_cache),
            [
                {"embedder": embedder.name, "content_hash": k, "embedding": v}
                for k, v in new.items()
            ],
        )
        found.update(new)
        report.embedded += len(keys)
    return found


def _ingest_one(
    conn: Connection,
    coll: Collection,
    doc: SourceDocument,
    embedder: Embedder,
    report: IngestReport,
    max_chars: int,
    overlap_chars: int,
) -> None:
    doc_hash = content_hash(f"{doc.title}\n{doc.content}")
    existing = conn.execute(
        sa.select(t.documents).where(
            t.documents.c.collection_id == coll.id, t.documents.c.doc_key == doc.key
        )
    ).first()
    if existing is not None and existing.content_hash == doc_hash:
        report.documents_unchanged += 1
        return
    meta = {**doc.meta, "doc": doc.key}
    chunks = chunk_document(
        doc.key, doc.title, doc.content, max_chars=max_chars, overlap_chars=overlap_chars, meta=meta
    )
    if existing is None:
        doc_id = conn.execute(
            sa.insert(t.documents)
            .values(
                collection_id=coll.id,
                doc_key=doc.key,
                title=doc.title,
                source=doc.source,
                version=1,
                content_hash=doc_hash,
                meta=doc.meta,
                updated_at=_now(),
            )
            .returning(t.documents.c.id)
        ).scalar_one()
        report.documents_added += 1
        kept: set[str] = set()
    else:
        doc_id = existing.id
        conn.execute(
            sa.update(t.documents)
            .where(t.documents.c.id == doc_id)
            .values(
                title=doc.title,
                source=doc.source,
                version=existing.version + 1,
                content_hash=doc_hash,
                meta=doc.meta,
                updated_at=_now(),
            )
        )
        report.documents_updated += 1
        wanted = {c.chunk_id for c in chunks}
        old = {
            r.chunk_id: r.id
            for r in conn.execute(
                sa.select(t.chunks.c.id, t.chunks.c.chunk_id).where(
                    t.chunks.c.document_id == doc_id
                )
            )
        }
        gone = [row_id for cid, row_id in old.items() if cid not in wanted]
        if gone:
            conn.execute(sa.delete(t.chunks).where(t.chunks.c.id.in_(gone)))
        report.chunks_removed += len(gone)
        kept = set(old) & wanted
        # ordinals may shift when text is inserted before an unchanged chunk
        for c in chunks:
            if c.chunk_id in kept:
                conn.execute(
                    sa.update(t.chunks)
                    .where(t.chunks.c.document_id == doc_id, t.chunks.c.chunk_id == c.chunk_id)
                    .values(ordinal=c.ordinal, title=c.title, meta=c.meta)
                )
        report.chunks_unchanged += len(kept)
    pending = [c for c in chunks if c.chunk_id not in kept]
    if not pending:
        return
    vectors = _vectors_for(conn, embedder, pending, report)
    conn.execute(
        sa.insert(t.chunks),
        [
            {
                "collection_id": coll.id,
                "document_id": doc_id,
                "chunk_id": c.chunk_id,
                "ordinal": c.ordinal,
                "title": c.title,
                "heading": c.heading,
                "text": c.text,
                "content_hash": c.content_hash,
                "meta": c.meta,
                "embedding": vectors[c.content_hash],
            }
            for c in pending
        ],
    )
    report.chunks_added += len(pending)


def ingest_documents(
    engine: Engine,
    coll: Collection,
    items: Iterable[SourceDocument | FileError],
    embedder: Embedder,
    *,
    replace: bool = False,
    max_chars: int = 1200,
    overlap_chars: int = 150,
    batch: int = 64,
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest documents (and record per-file errors) into ``coll``, ``batch`` documents per
    transaction. ``replace``: documents of the collection not seen here are removed."""
    report = IngestReport()
    seen: set[str] = set()
    pending: list[SourceDocument] = []

    def flush() -> None:
        if not pending:
            return
        with engine.begin() as conn:
            for doc in pending:
                _ingest_one(conn, coll, doc, embedder, report, max_chars, overlap_chars)
            _bump(conn, coll.id)
        if on_progress is not None:
            on_progress(len(pending))
        pending.clear()

    for item in items:
        if isinstance(item, FileError):
            report.errors.append(item)
            if on_progress is not None:
                on_progress(1)
            continue
        if item.key in seen:
            report.errors.append(FileError(item.source, "duplicate_id", f"id {item.key!r} twice"))
            continue
        seen.add(item.key)
        pending.append(item)
        if len(pending) >= batch:
            flush()
    flush()
    if replace:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(t.documents.c.id, t.documents.c.doc_key).where(
                    t.documents.c.collection_id == coll.id
                )
            ).all()
            stale = [r.id for r in rows if r.doc_key not in seen]
            for start in range(0, len(stale), 500):
                part = stale[start : start + 500]
                report.chunks_removed += conn.execute(
                    sa.delete(t.chunks).where(t.chunks.c.document_id.in_(part))
                ).rowcount
                conn.execute(sa.delete(t.documents).where(t.documents.c.id.in_(part)))
            report.documents_removed = len(stale)
            if stale:
                _bump(conn, coll.id)
    return report


def _bump(conn: Connection, collection_id: int) -> None:
    conn.execute(
        sa.update(t.collections)
        .where(t.collections.c.id == collection_id)
        .values(version=t.collections.c.version + 1)
    )


class VectorIndex:
    """An exact (brute-force) cosine index of one collection, held in memory per process.

    Loaded on first use and reloaded when the collection's version moves (any ingest bumps it),
    so every worker sees new chunks. At 100k chunks of 384 floats a query is one 150 MB
    matrix-vector product (a few milliseconds on one core)."""

    _cache: ClassVar[dict[tuple[str, int], tuple[int, np.ndarray, np.ndarray]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def forget(cls, engine: Engine, collection_id: int) -> None:
        cls._cache.pop((str(engine.url), collection_id), None)

    @classmethod
    def matrix(cls, engine: Engine, conn: Connection, coll: Collection) -> tuple[np.ndarray, ...]:
        key = (str(engine.url), coll.id)
        version = conn.execute(
            sa.select(t.collections.c.version).where(t.collections.c.id == coll.id)
        ).scalar_one()
        cached = cls._cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        with cls._lock:
            rows = conn.execute(
                sa.select(t.chunks.c.id, t.chunks.c.embedding)
                .where(t.chunks.c.collection_id == coll.id)
                .order_by(t.chunks.c.id)
            ).all()
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.zeros((len(rows), coll.dim), dtype=np.float32)
            for i, r in enumerate(rows):
                matrix[i] = np.frombuffer(r[1], dtype=np.float32)
            cls._cache[key] = (version, ids, matrix)
            return ids, matrix

    @classmethod
    def search(
        cls, engine: Engine, conn: Connection, coll: Collection, vectors: np.ndarray, limit: int
    ) -> list[list[tuple[int, float]]]:
        """For each query vector, (chunk row id, cosine) best first."""
        ids, matrix = cls.matrix(engine, conn, coll)
        if not len(ids):
            return [[] for _ in range(len(vectors))]
        scores = vectors @ matrix.T  # (queries, chunks)
        n = min(limit, len(ids))
        out: list[list[tuple[int, float]]] = []
        for row in scores:
            top = np.argpartition(-row, n - 1)[:n]
            top = top[np.argsort(-row[top])]
            out.append([(int(ids[i]), float(row[i])) for i in top])
        return out
