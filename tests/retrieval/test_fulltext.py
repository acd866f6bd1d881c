"""Full-text search on SQLite: one index shared by every collection, common words pruned by
their stem's document frequency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from waypost.retrieval import _fulltext as fulltext
from waypost.retrieval import ensure_collection, ingest_documents
from waypost.retrieval.embeddings import HashEmbedder
from waypost.retrieval.loaders import SourceDocument

from tests.conftest import migrated


def _docs(prefix: str, texts: list[str]) -> list[SourceDocument]:
    return [
        SourceDocument(f"{prefix}-{i}", f"{prefix} {i}", t, "test") for i, t in enumerate(texts)
    ]


def _collection(engine: Engine, name: str, texts: list[str]) -> int:
    emb = HashEmbedder()
    coll = ensure_collection(engine, "acme", name, emb)
    ingest_documents(engine, coll, _docs(name, texts), emb)
    return coll.id


@pytest.fixture
def sqlite_only(sqlite_url: str) -> Iterator[Engine]:
    """FTS5 is SQLite's."""
    yield from migrated(sqlite_url)


@pytest.fixture
def postgres_only(postgres_url: str) -> Iterator[Engine]:
    """tsvector is PostgreSQL's."""
    yield from migrated(postgres_url)


def test_a_small_collection_beside_a_big_one_still_finds_its_matches(sqlite_only: Engine) -> None:
    _collection(sqlite_only, "big", [f"the widget manual, part {i}" for i in range(40)])
    small = _collection(sqlite_only, "small", ["a note that mentions the widget once"])
    with sqlite_only.connect() as conn:
        hits = fulltext.SqliteFullText().search(conn, small, "widget", limit=2)
    # the index's top 8 matches all belong to "big": the search falls back to the joined query
    assert len(hits) == 1


def test_a_common_word_is_pruned_by_its_stem(
    sqlite_only: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fulltext, "COMMON_MIN_CHUNKS", 1)
    monkeypatch.setattr(fulltext, "COMMON_SHARE", 0.5)
    monkeypatch.setattr(fulltext, "_DF_CACHE", {})
    texts = [f"running shoes model {i}" for i in range(10)] + ["a rare sandal"]
    coll = _collection(sqlite_only, "shoes", texts)
    with sqlite_only.connect() as conn:
        # "runs" is not in the index's vocabulary, its stem "run" is (in 10 of 11 chunks)
        assert fulltext._stems(conn, ["runs", "sandal"]) == ["run", "sandal"]
        hits = fulltext.SqliteFullText().search(conn, coll, "runs sandal", limit=5)
        assert len(hits) == 1  # only the sandal: "runs" was dropped as common
        every = fulltext.SqliteFullText().search(conn, coll, "runs running", limit=20)
    assert len(every) == 10  # every word common: the rarest required together (AND), still found


@pytest.mark.postgres
def test_postgres_ranks_the_rarest_common_words_together(
    postgres_only: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"running shoes model {i}" for i in range(10)] + ["running sandals", "red shoes"]
    coll = _collection(postgres_only, "catalog", texts)
    # as the column statistics would say on a big collection: both words common, "run" more so
    shares = {"run": 0.9, "shoe": 0.8, "model": 0.7}
    monkeypatch.setattr(fulltext, "_pg_lexeme_stats", lambda conn: (shares, 0.05))
    with postgres_only.connect() as conn:
        hits = fulltext.PostgresFullText().search(conn, coll, "running shoes", limit=20)
        rare = fulltext.PostgresFullText().search(conn, coll, "running sandals", limit=20)
    assert len(hits) == 10  # every word common: required together (AND), not OR (12)
    assert len(rare) == 1  # "sandal" is not common: OR of the words left, "run" dropped
