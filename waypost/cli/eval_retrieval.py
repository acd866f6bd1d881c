"""``waypost eval retrieval --dataset D``: the retrieval benchmark beside plain BM25."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from waypost.cli._common import console, ensure_database, err_console, load_settings


def run(
    dataset: str,
    *,
    tenant: str,
    collection: str,
    mode: str,
    expand: bool,
    limit: int | None,
    embedder: str | None,
) -> None:
    from waypost.evals.retrieval import run_retrieval_eval
    from waypost.retrieval.embeddings import make_embedder

    settings = load_settings()
    engine = ensure_database(settings)
    emb = make_embedder(settings.retrieval, embedder)
    scores, info = run_retrieval_eval(
        engine,
        emb,
        Path(dataset),
        tenant=tenant,
        collection=collection,
        mode=mode,
        expand=expand,
        limit=limit,
        max_chars=settings.retrieval.max_chunk_chars,
        overlap_chars=settings.retrieval.overlap_chars,
    )
    ingest = info["ingest"]
    err_console.print(
        f"[dim]{info['documents']} documents, {info['queries']} queries; ingest "
        f"{info['ingest_s']:.1f}s (chunks added {ingest['chunks_added']}, embedded "
        f"{ingest['embedded']}, unchanged documents {ingest['documents_unchanged']}); "
        f"embedder {emb.name}; database {engine.dialect.name}[/dim]"
    )
    table = Table(title=f"retrieval on {dataset}")
    for col in (
        "system",
        "recall@5",
        "recall@10",
        "recall@20",
        "MRR",
        "nDCG@10",
        "p50 ms",
        "p95 ms",
    ):
        table.add_column(col, justify="right" if col != "system" else "left")
    for s in scores:
        table.add_row(
            s.name,
            f"{s.recall_5:.3f}",
            f"{s.recall_10:.3f}",
            f"{s.recall_20:.3f}",
            f"{s.mrr:.3f}",
            f"{s.ndcg_10:.3f}",
            "-" if s.p50_ms is None else f"{s.p50_ms:.1f}",
            "-" if s.p95_ms is None else f"{s.p95_ms:.1f}",
        )
    console.print(table)
