"""The shared ingest step: a bad document fails alone, ``replace`` never prunes a partial batch,
and a stop request ends the batch between slices (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from waypost.graphs.ingest import SLICE, IngestCancelled, ingest_batch, screen_documents
from waypost.retrieval import ensure_collection, list_collections
from waypost.retrieval.embeddings import HashEmbedder
from waypost.runtime.settings import RetrievalSettings

SETTINGS = RetrievalSettings(embedder="hash")


class PoisonedEmbedder(HashEmbedder):
    """Refuses any text that mentions POISON, as a model may refuse one input."""

    def embed(self, texts: list[str]) -> np.ndarray:
        if any("POISON" in t for t in texts):
            raise ValueError("cannot embed this text")
        return super().embed(texts)


def _docs(n: int, prefix: str = "doc") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "content": f"Item {i} weighs {i} grams."} for i in range(n)]


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            next(c for c in list_collections(conn, "acme") if c["name"] == "kb")["documents"]
        )


def test_a_document_that_cannot_be_ingested_fails_alone(migrated_engine: Engine) -> None:
    embedder = PoisonedEmbedder()
    ensure_collection(migrated_engine, "acme", "kb", embedder)
    docs = _docs(100)
    docs[70]["content"] = "This one carries POISON."
    report = ingest_batch(migrated_engine, SETTINGS, "acme", "kb", docs, embedder=embedder)
    assert report["documents_added"] == 99 and report["documents_failed"] == 1
    (error,) = report["errors"]
    assert error["path"] == "doc-70" and error["code"] == "ingest_failed"
    assert "cannot embed" in error["message"]
    assert _stored(migrated_engine) == 99  # its slice's other documents landed too


def test_replace_prunes_only_when_the_whole_batch_landed(migrated_engine: Engine) -> None:
    ensure_collection(migrated_engine, "acme", "kb", HashEmbedder())
    ingest_batch(migrated_engine, SETTINGS, "acme", "kb", _docs(3))
    partial = [_docs(3)[0], {"id": "doc-1", "content": "  "}]
    kept = ingest_batch(migrated_engine, SETTINGS, "acme", "kb", partial, replace=True)
    assert kept["replace_skipped"] is True and kept["documents_removed"] == 0
    assert _stored(migrated_engine) == 3
    whole = ingest_batch(migrated_engine, SETTINGS, "acme", "kb", _docs(1), replace=True)
    assert whole["replace_skipped"] is False and whole["documents_removed"] == 2
    assert whole["documents_unchanged"] == 1 and _stored(migrated_engine) == 1


def test_a_stop_request_ends_the_batch_between_slices(migrated_engine: Engine) -> None:
    ensure_collection(migrated_engine, "acme", "kb", HashEmbedder())
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        stop.set()

    with pytest.raises(IngestCancelled):
        ingest_batch(
            migrated_engine,
            SETTINGS,
            "acme",
            "kb",
            _docs(SLICE * 3),
            on_progress=progress,
            stop=stop,
        )
    assert seen == [(SLICE, SLICE * 3)]
    assert _stored(migrated_engine) == SLICE


def test_screening_names_each_bad_document() -> None:
    good, errors, complete = screen_documents(
        [
            {"id": "a", "content": "fine"},
            {"id": "b"},
            {"content": "no id"},
            {"id": "a", "content": "again"},
            {"id": "c", "content": "\n\t "},
        ]
    )
    assert [d.key for d in good] == ["a"] and not complete
    assert [(e.path, e.code) for e in errors] == [
        ("b", "invalid_document"),
        ("documents[2]", "invalid_document"),
        ("a", "duplicate_id"),
        ("c", "empty_content"),
    ]
    assert errors[0].message.startswith("content:")
