"""Ingest and hybrid search on SQLite and PostgreSQL (fixture documents; banking when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from waypost.retrieval import ensure_collection, ingest_documents, iter_documents, search
from waypost.retrieval.embeddings import HashEmbedder, MiniLMEmbedder
from waypost.retrieval.loaders import read_file
from waypost.retrieval.search import aggregate_documents
from waypost.runtime.errors import Conflict, NotFound, ValidationFailed

from tests.retrieval.conftest import BANKING


def _ingest(engine: Engine, folder: Path, embedder, *, tenant="acme", name="kb", replace=False):
    coll = ensure_collection(engine, tenant, name, embedder)
    return ingest_documents(
        engine, coll, iter_documents([folder]), embedder, replace=replace, max_chars=300
    )


def test_ingest_reingest_edit_and_remove(migrated_engine: Engine, kb_folder: Path) -> None:
    emb = HashEmbedder()
    (kb_folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    first = _ingest(migrated_engine, kb_folder, emb)
    assert first.documents_added == 5  # returns.md, shipping.html, 2 JSONL rows, warranty.txt
    assert first.embedded == first.chunks_added > 5
    assert [(e.path.endswith("broken.pdf"), e.code) for e in first.errors] == [(True, "unreadable")]

    again = _ingest(migrated_engine, kb_folder, emb)
    assert again.embedded == 0 and again.chunks_added == 0
    assert again.documents_unchanged == 5

    # an edit re-embeds only the chunk it touches; the old text disappears
    path = kb_folder / "returns.md"
    path.write_text(path.read_text().replace("30 days", "45 days"))
    edited = _ingest(migrated_engine, kb_folder, emb)
    assert edited.documents_updated == 1
    assert edited.embedded == 1 and edited.chunks_removed == 1
    hits = search(
        migrated_engine, emb, tenant="acme", collection="kb", query="returned within days", k=3
    ).hits
    assert "45 days" in hits[0].text
    with migrated_engine.connect() as conn:
        texts = conn.execute(sa.text("SELECT text FROM retrieval_chunks")).scalars().all()
        version = conn.execute(
            sa.text("SELECT version FROM retrieval_documents WHERE doc_key = 'returns.md'")
        ).scalar_one()
    assert not any("30 days" in t for t in texts)
    assert version == 2

    # a file that left the folder leaves the collection on a replace
    (kb_folder / "warranty.txt").unlink()
    removed = _ingest(migrated_engine, kb_folder, emb, replace=True)
    assert removed.documents_removed == 1 and removed.embedded == 0
    hits = search(migrated_engine, emb, tenant="acme", collection="kb", query="warranty", k=5).hits
    assert all(h.doc_key != "warranty.txt" for h in hits)


def test_hybrid_search_filters_tenants_and_log(migrated_engine: Engine, kb_folder: Path) -> None:
    emb = HashEmbedder()
    _ingest(migrated_engine, kb_folder, emb)
    result = search(
        migrated_engine,
        emb,
        tenant="acme",
        collection="kb",
        query="what colours does the desk lamp come in and at what price?",
        k=3,
        run_id="run-1",
    )
    top = result.hits[0]
    assert top.doc_key == "product-lamp" and "brass" in top.text
    assert top.chunk_id.startswith("product-lamp#")
    # a numbered procedure comes back whole
    steps = search(
        migrated_engine, emb, tenant="acme", collection="kb", query="how to return an item", k=5
    ).hits
    procedure = next(h for h in steps if "1. Confirm" in h.text)
    assert "3. Ask the customer to confirm" in procedure.text
    # metadata filters
    kitchen = search(
        migrated_engine,
        emb,
        tenant="acme",
        collection="kb",
        query="comes in",
        k=5,
        filters={"category": "kitchen"},
    ).hits
    assert [h.doc_key for h in kitchen] == ["product-kettle"]
    # another tenant sees no such collection
    with pytest.raises(NotFound):
        search(migrated_engine, emb, tenant="other", collection="kb", query="lamp")
    with migrated_engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT tenant, query, results, latency_ms, run_id FROM retrieval_searches")
        ).first()
    assert row is not None and row.tenant == "acme" and row.run_id == "run-1"
    results = row.results if isinstance(row.results, list) else json.loads(row.results)
    assert results[0]["chunk_id"] == top.chunk_id and row.latency_ms > 0


def test_collection_rules(migrated_engine: Engine) -> None:
    with pytest.raises(ValidationFailed):
        ensure_collection(migrated_engine, "acme", "bad name!", HashEmbedder())
    ensure_collection(migrated_engine, "acme", "kb", HashEmbedder())
    with pytest.raises(Conflict):
        ensure_collection(migrated_engine, "acme", "kb", HashEmbedder(dim=64))


def test_minilm_finds_a_paraphrase(migrated_engine: Engine, kb_folder: Path) -> None:
    emb = MiniLMEmbedder()
    _ingest(migrated_engine, kb_folder, emb, name="semantic")
    hits = search(
        migrated_engine,
        emb,
        tenant="acme",
        collection="semantic",
        mode="vector",
        query="how long does delivery take",
        k=2,
    ).hits
    assert hits[0].doc_key == "shipping.html"


@pytest.mark.skipif(not BANKING.is_dir(), reason="needs ../shared/banking")
def test_banking_documents_ingest_and_search(migrated_engine: Engine) -> None:
    emb = HashEmbedder()
    docs = read_file(BANKING / "documents.jsonl")
    coll = ensure_collection(migrated_engine, "default", "banking", emb)
    report = ingest_documents(migrated_engine, coll, docs, emb)
    assert report.documents_added == len(docs) == 698 and not report.errors
    hits = search(
        migrated_engine,
        emb,
        tenant="default",
        collection="banking",
        query="eligibility requirements to open a personal checking account",
        k=50,
    ).hits
    assert "doc_bank_accounts_bank_accounts_(general)_001" in aggregate_documents(hits)[:5]
