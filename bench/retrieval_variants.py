"""Fusion variants on the banking retrieval benchmark, offline over the same ranked lists.

Ingests the dataset (incrementally: a second run embeds nothing), computes every labelled
situation's ranked lists once (full text and vectors, for the whole situation and each of its
sentences, exactly as ``retrieval.search`` does), then re-fuses them under each variant and
prints recall@5/10/20, MRR and nDCG@10. The first row is the shipped fusion and must equal
``waypost eval retrieval`` on the same database.

    .venv/bin/python bench/retrieval_variants.py --dataset ../shared/banking
    .venv/bin/python bench/retrieval_variants.py --only shipped,mmr
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import sqlalchemy as sa
from rich.console import Console
from rich.progress import track
from rich.table import Table
from waypost.evals.retrieval import load_queries, okapi_bm25_rankings, score
from waypost.graphs.plugins import migrate
from waypost.retrieval import _tables as t
from waypost.retrieval._fulltext import STOPWORDS, full_text_for
from waypost.retrieval.embeddings import make_embedder
from waypost.retrieval.loaders import read_file
from waypost.retrieval.search import rrf, sentence_weights, split_query
from waypost.retrieval.store import VectorIndex, ensure_collection, get_collection, ingest_documents
from waypost.runtime.db import make_engine
from waypost.runtime.settings import DatabaseSettings, RetrievalSettings

DEPTH = 200  # what the eval asks of each list (``pool``)


@dataclass
class Situation:
    id: str
    relevant: set[str]
    lexical: list[list[int]]  # whole situation first, then its sentences
    cosines: np.ndarray  # (parts, chunks): every chunk's cosine to each part
    vectors: np.ndarray  # (parts, dim)
    # pseudo-relevance feedback: (documents, terms) -> full-text list of the expansion terms
    feedback: dict[tuple[int, int], list[int]] | None = None


@dataclass
class Corpus:
    ids: np.ndarray  # chunk row ids, the columns of Situation.cosines
    doc_of: dict[int, str]  # chunk row id -> document key
    docs: list[str]
    doc_vectors: np.ndarray  # normalised mean of each document's chunk vectors
    bm25: dict[str, list[str]]  # situation id -> Okapi BM25 document ranking
    matrix: np.ndarray | None = None  # chunk vectors, rows in ``ids`` order
    _nearest: np.ndarray | None = None

    def nearest(self) -> np.ndarray:
        """Each document's other documents, nearest first."""
        if self._nearest is None:
            sim = self.doc_vectors @ self.doc_vectors.T
            np.fill_diagonal(sim, -1)
            self._nearest = np.argsort(-sim, axis=1)
        return self._nearest


def vector_lists(
    s: Situation, c: Corpus, depth: int = DEPTH
) -> tuple[list[list[int]], list[float]]:
    lists, best = [], []
    for row in s.cosines:
        top = np.argpartition(-row, depth - 1)[:depth]
        top = top[np.argsort(-row[top])]
        lists.append([int(c.ids[i]) for i in top])
        best.append(float(row[top[0]]))
    return lists, sentence_weights(best)


def fused(
    s: Situation,
    c: Corpus,
    *,
    whole: float = 1.0,
    lexical_weight: float = 1.0,
    vector_weight: float = 1.0,
    depth: int = DEPTH,
) -> dict[str, float]:
    """The shipped fusion (whole situation's lists counted 1 + ``whole`` times), documents by
    their best chunk: {document: score} in rank order."""
    vectors, weights = vector_lists(s, c, depth)
    lexical = [lst[:depth] for lst in s.lexical]
    lists = lexical + vectors + [lexical[0], vectors[0]]
    w = (
        [lexical_weight] * len(lexical)
        + [x * vector_weight for x in weights]
        + [lexical_weight * whole, vector_weight * whole]
    )
    out: dict[str, float] = {}
    for chunk, value in rrf(lists, weights=w):
        out.setdefault(c.doc_of[chunk], value)
    return out


def ranked(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda d: -scores[d])


def mmr(s: Situation, c: Corpus, lam: float, depth: int = 30) -> list[str]:
    base = list(fused(s, c).items())
    head, tail = base[:depth], [d for d, _ in base[depth:]]
    top = head[0][1]
    index = {d: i for i, d in enumerate(c.docs)}
    vecs = c.doc_vectors[[index[d] for d, _ in head]]
    sim = vecs @ vecs.T
    chosen: list[int] = []
    nearest = np.zeros(len(head))
    left = set(range(len(head)))
    while left:
        pick = max(left, key=lambda j: lam * head[j][1] / top - (1 - lam) * nearest[j])
        chosen.append(pick)
        left.discard(pick)
        nearest = np.maximum(nearest, sim[pick])
    return [head[j][0] for j in chosen] + tail


def with_document_vectors(s: Situation, c: Corpus, weight: float, whole_only: bool) -> list[str]:
    scores = fused(s, c)
    sims = s.vectors @ c.doc_vectors.T
    weights = sentence_weights([float(r.max()) for r in sims])
    for n, (row, w) in enumerate(zip(sims, weights, strict=True)):
        if whole_only and n:
            break
        for rank, j in enumerate(np.argsort(-row)[:DEPTH], 1):
            scores[c.docs[j]] = scores.get(c.docs[j], 0.0) + weight * w / (60 + rank)
    return ranked(scores)


def regularised(s: Situation, c: Corpus, alpha: float, neighbours: int) -> list[str]:
    scores = fused(s, c)
    vec = np.array([scores.get(d, 0.0) for d in c.docs])
    nearest = c.nearest()[:, :neighbours]
    vec = (1 - alpha) * vec + alpha * vec[nearest].mean(axis=1)
    return [c.docs[j] for j in np.argsort(-vec)]


def with_bm25(s: Situation, c: Corpus, weight: float) -> list[str]:
    scores = fused(s, c)
    for rank, d in enumerate(c.bm25[s.id], 1):
        scores[d] = scores.get(d, 0.0) + weight / (60 + rank)
    return ranked(scores)


FEEDBACK = [(5, 20), (5, 30), (10, 20), (10, 30)]  # (feedback documents, expansion terms)
_WORDS = re.compile(r"[a-z0-9]+")


def expansion_terms(top: list[str], texts: dict[str, str], idf: dict[str, float], n: int) -> str:
    """RM3-style expansion: the ``n`` words weighing most in the feedback documents (share of the
    document's words x IDF over the collection)."""
    weights: Counter[str] = Counter()
    for doc in top:
        words = [w for w in _WORDS.findall(texts[doc].lower()) if w in idf]
        for word, count in Counter(words).items():
            weights[word] += count / len(words) * idf[word]
    return " ".join(w for w, _ in weights.most_common(n))


def _add_list(scores: dict[str, float], chunks: list[int], c: Corpus, weight: float) -> None:
    """Adds a chunk list's documents (at their best chunk's rank) to a fusion's scores."""
    seen: set[str] = set()
    for chunk in chunks:
        doc = c.doc_of[chunk]
        if doc not in seen:
            seen.add(doc)
            scores[doc] = scores.get(doc, 0.0) + weight / (60 + len(seen))


def with_feedback(
    s: Situation, c: Corpus, docs: int, terms: int, lexical: float, vector: float
) -> list[str]:
    """The shipped fusion plus pseudo-relevance feedback from its top ``docs`` documents: a
    full-text list of their expansion terms and a vector list of the whole query moved towards
    their centroid (Rocchio, beta 1)."""
    assert s.feedback is not None and c.matrix is not None
    scores = fused(s, c)
    top = ranked(scores)[:docs]
    if lexical:
        _add_list(scores, s.feedback[(docs, terms)], c, lexical)
    if vector:
        index = {d: i for i, d in enumerate(c.docs)}
        centroid = c.doc_vectors[[index[d] for d in top]].mean(axis=0)
        row = s.cosines[0] + c.matrix @ (centroid / np.linalg.norm(centroid))
        best = np.argsort(-row)[:DEPTH]
        _add_list(scores, [int(c.ids[i]) for i in best], c, vector)
    return ranked(scores)


Variant = Callable[[Situation, Corpus], list[str]]


def variants() -> Iterator[tuple[str, str, Variant]]:
    """(family, label, ranking function); the first is the shipped fusion."""
    yield "shipped", "shipped fusion", lambda s, c: ranked(fused(s, c))
    for lam in (0.5, 0.7, 0.85, 0.95):
        yield "mmr", f"MMR lambda {lam}", lambda s, c, lam=lam: mmr(s, c, lam)
    for w in (0.5, 1.0, 2.0):
        yield (
            "docvec",
            f"document-vector lists, weight {w}",
            (lambda s, c, w=w: with_document_vectors(s, c, w, whole_only=False)),
        )
        yield (
            "docvec",
            f"whole situation's document-vector list, weight {w}",
            (lambda s, c, w=w: with_document_vectors(s, c, w, whole_only=True)),
        )
    for k in (3, 10, 20):
        for a in (0.1, 0.3, 0.5):
            yield (
                "regularise",
                f"score regularisation, {k} neighbours, alpha {a}",
                (lambda s, c, a=a, k=k: regularised(s, c, a, k)),
            )
    for m in (0.0, 2.0, 3.0):
        yield (
            "whole",
            f"whole situation's lists counted {1 + m:g}x",
            (lambda s, c, m=m: ranked(fused(s, c, whole=m))),
        )
    for w in (0.5, 1.0, 2.0, 4.0):
        yield "bm25", f"document BM25 list, weight {w}", lambda s, c, w=w: with_bm25(s, c, w)
    for w in (0.5, 0.75, 1.5):
        yield (
            "weights",
            f"lexical lists weigh {w}",
            (lambda s, c, w=w: ranked(fused(s, c, lexical_weight=w))),
        )
    for w in (0.7, 1.5, 2.0):
        yield (
            "weights",
            f"vector lists weigh {w}",
            (lambda s, c, w=w: ranked(fused(s, c, vector_weight=w))),
        )
    for d in (100,):
        yield "depth", f"lists {d} deep", lambda s, c, d=d: ranked(fused(s, c, depth=d))
    for docs, terms in FEEDBACK:
        for lex, vec in ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (2.0, 2.0)):
            yield (
                "feedback",
                f"feedback from {docs} documents, {terms} terms, lexical {lex:g} vector {vec:g}",
                (lambda s, c, d=docs, t=terms, lx=lex, v=vec: with_feedback(s, c, d, t, lx, v)),
            )


def prepare(dataset: Path, url: str) -> tuple[list[Situation], Corpus]:
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    embedder = make_embedder(RetrievalSettings())
    documents, queries = load_queries(dataset)
    docs = read_file(documents)
    coll = ensure_collection(engine, "default", "eval-banking", embedder)
    ingest_documents(engine, coll, docs, embedder, replace=True)
    situations = []
    with engine.connect() as conn:
        coll = get_collection(conn, "default", "eval-banking")
        ids, matrix = VectorIndex.matrix(engine, conn, coll)
        doc_of = {
            r.id: (r.meta or {}).get("doc", "")
            for r in conn.execute(
                sa.select(t.chunks.c.id, t.chunks.c.meta).where(t.chunks.c.collection_id == coll.id)
            )
        }
        fulltext = full_text_for(engine.dialect.name)
        for q in track(queries, description="ranked lists"):
            parts = [q["query"], *split_query(q["query"])]
            vectors = embedder.embed(parts)
            situations.append(
                Situation(
                    id=q["id"],
                    relevant=q["relevant"],
                    lexical=[
                        [i for i, _ in fulltext.search(conn, coll.id, p, DEPTH)] for p in parts
                    ],
                    cosines=vectors @ matrix.T,
                    vectors=vectors,
                )
            )
    names = sorted(set(doc_of.values()))
    index = {d: i for i, d in enumerate(names)}
    doc_vectors = np.zeros((len(names), matrix.shape[1]), dtype=np.float32)
    np.add.at(doc_vectors, np.array([index[doc_of[int(i)]] for i in ids]), matrix)
    doc_vectors /= np.linalg.norm(doc_vectors, axis=1, keepdims=True)
    bm25 = okapi_bm25_rankings(
        [(d.key, f"{d.title}\n{d.content}") for d in docs], [q["query"] for q in queries]
    )
    corpus = Corpus(
        ids,
        doc_of,
        names,
        doc_vectors,
        {q["id"]: r for q, r in zip(queries, bm25, strict=True)},
        matrix,
    )
    texts = {d.key: f"{d.title}\n{d.content}" for d in docs}
    frequency: Counter[str] = Counter()
    for text in texts.values():
        frequency.update(set(_WORDS.findall(text.lower())) - STOPWORDS)
    idf = {w: math.log(len(texts) / f) for w, f in frequency.items() if len(w) > 1}
    with engine.connect() as conn:
        for s in track(situations, description="feedback lists"):
            top = ranked(fused(s, corpus))
            s.feedback = {
                (n, t): [
                    i
                    for i, _ in fulltext.search(
                        conn, coll.id, expansion_terms(top[:n], texts, idf, t), DEPTH
                    )
                ]
                for n, t in FEEDBACK
            }
    return situations, corpus


def recall_at(ranking: list[str], relevant: set[str], k: int) -> float:
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def paired_gain(variant: list[float], shipped: list[float]) -> str:
    """Mean per-situation difference with its 95% interval (normal approximation): a variant
    whose interval holds 0 is not distinguishable from the shipped fusion on these queries."""
    diff = np.array(variant) - np.array(shipped)
    half = 1.96 * diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return f"{diff.mean():+.3f} ± {half:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="../shared/banking")
    parser.add_argument("--database", default="sqlite:////tmp/waypost-retrieval-variants.db")
    parser.add_argument("--only", default="", help="comma-separated families (shipped, mmr, ...)")
    parser.add_argument("--json", action="store_true", help="one JSON object a variant")
    args = parser.parse_args()
    situations, corpus = prepare(Path(args.dataset), args.database)
    families = {f for f in args.only.split(",") if f}
    table = Table(title=f"fusion variants on {args.dataset} ({len(situations)} situations)")
    columns = ("variant", "recall@5", "recall@10", "recall@20", "MRR", "nDCG@10", "Δ recall@20")
    for col in columns:
        table.add_column(col, justify="left" if col == "variant" else "right")
    relevant = [s.relevant for s in situations]
    shipped = [recall_at(ranked(fused(s, corpus)), s.relevant, 20) for s in situations]
    for family, label, fn in variants():
        if families and family not in families:
            continue
        rankings = [fn(s, corpus) for s in situations]
        result = score(label, rankings, relevant)
        gain = paired_gain(
            [recall_at(r, s.relevant, 20) for r, s in zip(rankings, situations, strict=True)],
            shipped,
        )
        if args.json:
            print(json.dumps(result.as_dict()))
        table.add_row(
            label,
            *(
                f"{v:.3f}"
                for v in (
                    result.recall_5,
                    result.recall_10,
                    result.recall_20,
                    result.mrr,
                    result.ndcg_10,
                )
            ),
            gain,
        )
    if not args.json:
        Console().print(table)


if __name__ == "__main__":
    main()
