"""Retrieval at scale: ingest chunks/s and hybrid query latency (p50/p95) on a generated corpus
of N chunks, on SQLite (FTS5 + exact vectors) and PostgreSQL (tsvector/GIN + exact vectors).

The corpus is generated (Zipf-distributed words over a 20k-word vocabulary, ~70 words a chunk);
its vectors come from the hashing embedder so the figures measure the index, not the model.
The MiniLM query embedding is timed on its own and printed beside (add it to a query's cost).
Queries are 3-8 words drawn from random chunks; hybrid = FTS + vector, fused by RRF, k=10.

    .venv/bin/python bench/retrieval.py --chunks 10000,100000 --db sqlite,postgres
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from waypost.graphs.plugins import migrate
from waypost.retrieval import ensure_collection, ingest_documents, search
from waypost.retrieval.embeddings import HashEmbedder, MiniLMEmbedder
from waypost.retrieval.loaders import SourceDocument
from waypost.retrieval.metrics import percentile
from waypost.retrieval.store import VectorIndex
from waypost.runtime.db import make_engine
from waypost.runtime.settings import DatabaseSettings

PG_ADMIN = os.environ.get("WAYPOST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def vocabulary(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words)


def corpus(chunks: int, rng: random.Random) -> list[SourceDocument]:
    """Documents of one chunk each (~70 words: under the chunk bound)."""
    vocab = vocabulary(20_000, rng)
    cumulative = list(itertools.accumulate(1 / (i + 1) for i in range(len(vocab))))
    docs = []
    for i in range(chunks):
        words = rng.choices(vocab, cum_weights=cumulative, k=70)  # Zipf: word i weighs 1/(i+1)
        docs.append(SourceDocument(f"doc-{i}", f"Document {i}", " ".join(words), "generated"))
    return docs


def postgres_url() -> str:
    name = f"waypost_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(url: str) -> None:
    admin = create_engine(
        PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def run(db: str, chunks: int, queries: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    docs = corpus(chunks, rng)
    tmp = Path(tempfile.mkdtemp(prefix="waypost-bench-retrieval-"))
    url = f"sqlite:///{tmp / 'bench.db'}" if db == "sqlite" else postgres_url()
    engine = make_engine(DatabaseSettings(url=url))
    try:
        migrate(engine)
        emb = HashEmbedder()
        coll = ensure_collection(engine, "default", "bench", emb)
        started = time.perf_counter()
        report = ingest_documents(engine, coll, docs, emb, batch=500)
        ingest_s = time.perf_counter() - started
        if db == "postgres":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE retrieval_chunks"))
        texts = [d.content.split() for d in rng.sample(docs, min(queries, len(docs)))]
        qs = [" ".join(rng.sample(words, rng.randint(3, 8))) for words in texts]
        started = time.perf_counter()
        search(engine, emb, tenant="default", collection="bench", query=qs[0], k=10, log=False)
        load_s = time.perf_counter() - started  # the first query loads the vector matrix
        lat, lex, vec = [], [], []
        for q in qs:
            for mode, sink in (("hybrid", lat), ("lexical", lex), ("vector", vec)):
                r = search(
                    engine,
                    emb,
                    tenant="default",
                    collection="bench",
                    query=q,
                    k=10,
                    mode=mode,
                    expand=False,
                    log=False,
                )
                sink.append(r.latency_ms)
        return {
            "chunks": report.chunks_added,
            "ingest_chunks_per_s": report.chunks_added / ingest_s,
            "first_query_s": load_s,
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "lexical_p50": percentile(lex, 50),
            "lexical_p95": percentile(lex, 95),
            "vector_p50": percentile(vec, 50),
            "vector_p95": percentile(vec, 95),
        }
    finally:
        VectorIndex._cache.clear()
        engine.dispose()
        if db == "postgres":
            drop_postgres(url)


def minilm_query_ms(n: int = 50) -> tuple[float, float]:
    emb = MiniLMEmbedder()
    emb.embed(["warm up"])
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        emb.embed([f"which colours does product {i} come in, and at what price?"])
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), percentile(times, 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", default="10000,100000")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-minilm", action="store_true", help="skip the MiniLM query timing")
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}")
    header = (
        f"{'db':9} {'chunks':>7} {'ingest/s':>9} {'load s':>7} {'hyb p50':>8} {'hyb p95':>8} "
        f"{'lex p50':>8} {'lex p95':>8} {'vec p50':>8} {'vec p95':>8}"
    )
    print(header)
    for n in (int(x) for x in args.chunks.split(",")):
        for db in args.db.split(","):
            r = run(db, n, args.queries, args.seed)
            print(
                f"{db:9} {int(r['chunks']):>7} {r['ingest_chunks_per_s']:>9.0f} "
                f"{r['first_query_s']:>7.2f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
                f"{r['lexical_p50']:>8.1f} {r['lexical_p95']:>8.1f} {r['vector_p50']:>8.1f} "
                f"{r['vector_p95']:>8.1f}",
                flush=True,
            )
    if not args.no_minilm:
        p50, p95 = minilm_query_ms()
        print(f"MiniLM query embedding (one query, CPU): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"load after={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
