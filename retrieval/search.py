"""Hybrid search: full-text (BM25 / ts_rank) and vector (cosine) lists fused by reciprocal
rank fusion, filtered by collection and metadata, and logged.

A long query (a customer's whole situation) is also split into its sentences; each sentence is
searched on its own and every list joins the fusion, so a document that answers one part of
the situation is not drowned by the words of the others.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from waypost.observability.tracing import observe_retrieval
from waypost.retrieval import _tables as t
from waypost.retrieval._fulltext import full_text_for, query_terms
from waypost.retrieval.embeddings import Embedder
from waypost.retrieval.store import Collection, VectorIndex, get_collection

__all__ = [
    "Hit",
    "SearchResult",
    "aggregate_documents",
    "rrf",
    "search",
    "sentence_weights",
    "split_query",
]

RRF_K = 60


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    doc_key: str
    title: str
    heading: str
    text: str
    score: float
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SearchResult:
    query: str
    collection: str
    hits: list[Hit]
    latency_ms: float
    mode: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "collection": self.collection,
            "mode": self.mode,
            "latency_ms": round(self.latency_ms, 2),
            "hits": [h.as_dict() for h in self.hits],
        }


def rrf(
    lists: Sequence[Sequence[Any]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[Any, float]]:
    """Reciprocal rank fusion: an item scores the sum of w/(k + rank) over the lists (w = the
    list's weight, 1 by default)."""
    scores: dict[Any, float] = {}
    for index, ranked in enumerate(lists):
        weight = 1.0 if weights is None else weights[index]
        if weight <= 0:
            continue
        for rank, item in enumerate(ranked, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


# A sentence's vector list weighs (its best cosine / the whole query's best cosine) ** this.
SENTENCE_CONFIDENCE_POWER = 2.0


def sentence_weights(best_cosines: Sequence[float]) -> list[float]:
    """Weights of the vector lists of [whole query, sentence, ...] from each one's best cosine.

    A sentence the collection answers well (a customer's need, a product, a fee) finds a close
    chunk; one about something else (how to behave on the call, greetings) finds only distant
    ones. Weighing each sentence's list by how close its best chunk is, relative to the whole
    query's, lets the first speak louder than the second without a list of phrases to ignore.
    Measured on the banking benchmark: recall@20 0.441 -> 0.477, nDCG@10 0.383 -> 0.409.
    """
    if not best_cosines:
        return []
    reference = best_cosines[0]
    if reference <= 0:
        return [1.0] * len(best_cosines)
    return [1.0] + [
        (max(c, 0.0) / reference) ** SENTENCE_CONFIDENCE_POWER for c in best_cosines[1:]
    ]


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def split_query(query: str, *, min_terms: int = 3, max_parts: int = 24) -> list[str]:
    """The sentences of a long query that carry at least ``min_terms`` content words."""
    parts = [p.strip() for p in _SENTENCE.split(query) if p.strip()]
    kept = [p for p in parts if len(query_terms(p)) >= min_terms]
    return kept[:max_parts] if len(kept) > 1 else []


def search(
    engine: Engine,
    embedder: Embedder,
    *,
    tenant: str,
    collection: str,
    query: str,
    k: int = 8,
    mode: str = "hybrid",
    filters: dict[str, Any] | None = None,
    pool: int = 100,
    expand: bool = True,
    log: bool = True,
    run_id: str | None = None,
    observe: Callable[[SearchResult], None] | None = None,
    unit: str = "chunk",
) -> SearchResult:
    """The top ``k`` chunks for ``query`` (see ``_search``; ``unit="document"``: one chunk per
    document, documents ranked by fusing each list's document order), recorded in the
    retrieval log and, inside a run, as a Langfuse retriever observation under the node."""
    with observe_retrieval(
        f"retrieve {collection}", query, metadata={"collection": collection, "mode": mode, "k": k}
    ) as obs:
        result = _search(
            engine,
            embedder,
            tenant=tenant,
            collection=collection,
            query=query,
            k=k,
            mode=mode,
            filters=filters,
            pool=pool,
            expand=expand,
            unit=unit,
        )
        obs.finish(
            [(h.chunk_id, h.score, h.text, {"doc": h.doc_key}) for h in result.hits],
            result.latency_ms,
        )
    if log:
        _log(engine, tenant, result, run_id)
    if observe is not None:
        observe(result)
    return result


def _search(
    engine: Engine,
    embedder: Embedder,
    *,
    tenant: str,
    collection: str,
    query: str,
    k: int,
    mode: str,
    filters: dict[str, Any] | None,
    pool: int,
    expand: bool,
    unit: str = "chunk",
) -> SearchResult:
    """``mode``: hybrid | lexical | vector. ``filters``
    keep chunks whose metadata equals every given value (a list value: any of them)."""
    started = time.perf_counter()
    dialect = engine.dialect.name
    with engine.connect() as conn:
        coll = get_collection(conn, tenant, collection)
        queries = [query] + (split_query(query) if expand else [])
        lists: list[list[int]] = []
        weights: list[float] = []
        want = pool * (4 if filters else 1)
        if mode in {"hybrid", "lexical"}:
            fulltext = full_text_for(dialect)
            for q in queries:
                lists.append([i for i, _ in fulltext.search(conn, coll.id, q, want)])
                weights.append(1.0)
        if mode in {"hybrid", "vector"}:
            vectors = embedder.embed(queries)
            ranked_lists = VectorIndex.search(engine, conn, coll, vectors, want)
            best = [ranked[0][1] if ranked else 0.0 for ranked in ranked_lists]
            lists.extend([i for i, _ in ranked] for ranked in ranked_lists)
            weights.extend(sentence_weights(best))
        # the whole query's lists count twice: it is the one that sees every constraint
        whole = [lst for i, lst in enumerate(lists) if i % len(queries) == 0]
        fused = rrf(lists + whole, weights=weights + [1.0] * len(whole))
        if unit == "document":
            fused = _by_document(conn, lists, whole, fused, weights)
        candidates = [i for i, _ in fused[:want]]
        rows = _rows(conn, candidates)
    score = dict(fused)
    hits: list[Hit] = []
    for row_id in candidates:
        row = rows.get(row_id)
        if row is None or not _matches(row["meta"] or {}, filters):
            continue
        hits.append(
            Hit(
                chunk_id=row["chunk_id"],
                doc_key=(row["meta"] or {}).get("doc", ""),
                title=row["title"],
                heading=row["heading"],
                text=row["text"],
                score=round(score[row_id], 6),
                meta=row["meta"] or {},
            )
        )
        if len(hits) >= k:
            break
    return SearchResult(query, coll.name, hits, (time.perf_counter() - started) * 1000, mode)


def _by_document(
    conn: Any,
    lists: list[list[int]],
    whole: list[list[int]],
    fused: list[tuple[int, float]],
    weights: list[float],
) -> list[tuple[int, float]]:
    """Fusion over documents: each list votes once per document (at its best chunk's rank);
    a document is represented by its best chunk in the chunk-level fusion."""
    ids = sorted({i for lst in lists for i in lst})
    doc_of: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for r in conn.execute(
            sa.select(t.chunks.c.id, t.chunks.c.document_id).where(t.chunks.c.id.in_(part))
        ):
            doc_of[r.id] = r.document_id

    def docs(lst: list[int]) -> list[int]:
        return list(dict.fromkeys(doc_of[i] for i in lst if i in doc_of))

    best: dict[int, int] = {}
    for row_id, _ in fused:
        best.setdefault(doc_of.get(row_id, -1), row_id)
    ranked = rrf([docs(x) for x in lists + whole], weights=weights + [1.0] * len(whole))
    return [(best[d], s) for d, s in ranked if d in best]


def _rows(conn: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for r in conn.execute(
            sa.select(
                t.chunks.c.id,
                t.chunks.c.chunk_id,
                t.chunks.c.title,
                t.chunks.c.heading,
                t.chunks.c.text,
                t.chunks.c.meta,
            ).where(t.chunks.c.id.in_(part))
        ):
            out[r.id] = dict(r._mapping)
    return out


def _matches(meta: dict[str, Any], filters: dict[str, Any] | None) -> bool:
    if not filters:
        return True
    for key, want in filters.items():
        have = meta.get(key)
        if isinstance(want, list):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


def _log(engine: Engine, tenant: str, result: SearchResult, run_id: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t.searches).values(
                tenant=tenant,
                collection=result.collection,
                query=result.query[:4000],
                results=[{"chunk_id": h.chunk_id, "score": h.score} for h in result.hits],
                latency_ms=result.latency_ms,
                run_id=run_id,
                created_at=datetime.now(UTC),
            )
        )


def aggregate_documents(hits: Sequence[Hit]) -> list[str]:
    """Document keys in the order of their best chunk."""
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(h.doc_key, None)
    return list(seen)


def vector_of(embedder: Embedder, text: str) -> np.ndarray:
    vector: np.ndarray = embedder.embed([text])[0]
    return vector


def collection_of(engine: Engine, tenant: str, name: str) -> Collection:
    with engine.connect() as conn:
        return get_collection(conn, tenant, name)
