"""Retrieval benchmark on a labelled query set (``waypost eval retrieval --dataset D``).

The dataset is a folder (or its queries file) with ``documents.jsonl`` (id/title/content) and
``queries_*.jsonl`` (id, query, required_documents). The documents are ingested into a
collection (incrementally: a second run embeds nothing), each query is searched, chunks are
folded into documents by their best chunk, and recall@5/10/20, MRR and nDCG@10 are reported
beside plain Okapi BM25 over the same documents and queries.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from waypost.retrieval.embeddings import Embedder
from waypost.retrieval.loaders import read_file
from waypost.retrieval.metrics import mrr, ndcg_at, percentile, recall_at
from waypost.retrieval.search import aggregate_documents, search
from waypost.retrieval.store import ensure_collection, ingest_documents
from waypost.runtime.errors import ConfigError

__all__ = ["RetrievalScores", "load_queries", "okapi_bm25_rankings", "run_retrieval_eval", "score"]

_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass
class RetrievalScores:
    name: str
    recall_5: float
    recall_10: float
    recall_20: float
    mrr: float
    ndcg_10: float
    p50_ms: float | None = None
    p95_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def load_queries(dataset: Path) -> tuple[Path, list[dict[str, Any]]]:
    """(documents file, labelled queries) of a dataset folder or queries file."""
    if dataset.is_dir():
        files = sorted(dataset.glob("queries*.jsonl"))
        if not files:
            raise ConfigError(f"no queries*.jsonl in {dataset}")
        queries_file, folder = files[0], dataset
    else:
        queries_file, folder = dataset, dataset.parent
    documents = folder / "documents.jsonl"
    if not queries_file.is_file() or not documents.is_file():
        raise ConfigError(f"{dataset}: needs documents.jsonl and a queries file beside it")
    queries = []
    for line in queries_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            queries.append(
                {
                    "id": row["id"],
                    "query": row["query"],
                    "relevant": set(row.get("required_documents") or []),
                }
            )
    return documents, queries


def score(name: str, rankings: list[list[str]], relevant: list[set[str]]) -> RetrievalScores:
    n = len(rankings) or 1

    def mean(values: list[float]) -> float:
        return sum(values) / n

    return RetrievalScores(
        name=name,
        recall_5=mean([recall_at(r, g, 5) for r, g in zip(rankings, relevant, strict=True)]),
        recall_10=mean([recall_at(r, g, 10) for r, g in zip(rankings, relevant, strict=True)]),
        recall_20=mean([recall_at(r, g, 20) for r, g in zip(rankings, relevant, strict=True)]),
        mrr=mean([mrr(r, g) for r, g in zip(rankings, relevant, strict=True)]),
        ndcg_10=mean([ndcg_at(r, g, 10) for r, g in zip(rankings, relevant, strict=True)]),
    )


def okapi_bm25_rankings(
    docs: list[tuple[str, str]], queries: list[str], k1: float = 1.5, b: float = 0.75
) -> list[list[str]]:
    """Plain Okapi BM25 (lower-cased alphanumeric tokens of title + content, raw query)."""
    tokenised = [_TOKEN.findall(text.lower()) for _, text in docs]
    tfs = [Counter(toks) for toks in tokenised]
    avg = sum(len(t) for t in tokenised) / max(1, len(tokenised))
    df: Counter[str] = Counter()
    for tf in tfs:
        df.update(tf.keys())
    n = len(docs)
    idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}
    out = []
    for q in queries:
        terms = _TOKEN.findall(q.lower())
        scores = []
        for i, tf in enumerate(tfs):
            length = len(tokenised[i])
            s = 0.0
            for w in terms:
                f = tf.get(w)
                if f:
                    s += idf[w] * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg))
            scores.append((s, i))
        scores.sort(key=lambda x: -x[0])
        out.append([docs[i][0] for _, i in scores[:100]])
    return out


def run_retrieval_eval(
    engine: Engine,
    embedder: Embedder,
    dataset: Path,
    *,
    tenant: str = "default",
    collection: str = "eval-banking",
    mode: str = "hybrid",
    expand: bool = True,
    unit: str = "chunk",
    limit: int | None = None,
    max_chars: int = 1200,
    overlap_chars: int = 150,
    on_ingest: Any = None,
) -> tuple[list[RetrievalScores], dict[str, Any]]:
    documents, queries = load_queries(dataset)
    if limit:
        queries = queries[:limit]
    docs = read_file(documents)
    coll = ensure_collection(engine, tenant, collection, embedder)
    started = time.perf_counter()
    report = ingest_documents(
        engine,
        coll,
        docs,
        embedder,
        replace=True,
        max_chars=max_chars,
        overlap_chars=overlap_chars,
        on_progress=on_ingest,
    )
    ingest_s = time.perf_counter() - started
    rankings: list[list[str]] = []
    latencies: list[float] = []
    for q in queries:
        result = search(
            engine,
            embedder,
            tenant=tenant,
            collection=collection,
            query=q["query"],
            k=200,
            mode=mode,
            expand=expand,
            log=False,
            pool=200,
            unit=unit,
        )
        latencies.append(result.latency_ms)
        rankings.append(aggregate_documents(result.hits))
    relevant = [q["relevant"] for q in queries]
    ours = score(f"waypost {mode}", rankings, relevant)
    ours.p50_ms = percentile(latencies, 50)
    ours.p95_ms = percentile(latencies, 95)
    bm25 = score(
        "okapi bm25",
        okapi_bm25_rankings(
            [(d.key, f"{d.title}\n{d.content}") for d in docs], [q["query"] for q in queries]
        ),
        relevant,
    )
    info = {
        "queries": len(queries),
        "documents": len(docs),
        "ingest_s": ingest_s,
        "ingest": report.as_dict(),
    }
    return [ours, bm25], info
