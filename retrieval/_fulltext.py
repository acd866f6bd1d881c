"""Full-text (lexical) search: one class per database behind one interface.

SQLite ranks with FTS5's BM25; PostgreSQL with ``ts_rank`` over a generated ``tsvector``
(GIN index). Both take the query as an OR of its content words, so a long, chatty query still
matches documents that share only some of its terms.
"""

from __future__ import annotations

import re
import time
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["FullText", "PostgresFullText", "SqliteFullText", "full_text_for", "query_terms"]

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is
it its itself just me more most my myself no nor not now of off on once only or other our
ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself
yourselves also may might must shall s t don re ve ll d m
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def query_terms(text: str, limit: int = 64) -> list[str]:
    """The distinct content words of ``text``, in order, lower-cased, at most ``limit``."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS and len(word) > 1:
            seen.setdefault(word, None)
    return list(seen)[:limit]


class FullText(Protocol):
    def search(
        self, conn: Connection, collection_id: int, query: str, limit: int
    ) -> list[tuple[int, float]]:
        """(chunk row id, score) best first; higher scores are better."""
        ...


# A term in more than this share of the chunks carries little BM25 weight but makes the engine
# score a large part of the index: it is dropped from the OR query (unless every term is). At
# 100k chunks 5% left PostgreSQL's hybrid p95 at 46-60 ms across runs, 2% at 31 ms.
COMMON_SHARE = 0.02
# ...and in more than this many chunks: below it, scoring every match is cheap and the term
# still helps ranking (measured on the banking set: pruning at 150 chunks cost 0.03 nDCG@10)
COMMON_MIN_CHUNKS = 2000


# Document frequencies change slowly and only steer the pruning above: each process keeps the
# ones it has looked up for this long (reading a term's frequency from fts5vocab walks its whole
# posting list: ~6 ms a query at 100k chunks, more than the search itself).
DF_TTL_S = 60.0
_DF_CACHE: dict[str, tuple[float, dict[str, int]]] = {}


def _stems(conn: Connection, words: list[str]) -> list[str]:
    """Each of ``words`` as the index's own tokenizer (porter, unicode61) stems it.

    They go through a one-row-a-word FTS5 table in the connection's temp schema with the same
    tokenizer and come back from its vocabulary, so the stems are exactly those the index holds
    (no second stemmer to drift from SQLite's). A word the tokenizer drops stems to itself."""
    conn.execute(
        sa.text(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.retrieval_query_words "
            "USING fts5(w, tokenize='porter unicode61')"
        )
    )
    conn.execute(
        sa.text(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.retrieval_query_stems "
            "USING fts5vocab(temp, retrieval_query_words, instance)"
        )
    )
    conn.execute(sa.text("DELETE FROM temp.retrieval_query_words"))
    conn.execute(
        sa.text("INSERT INTO temp.retrieval_query_words(rowid, w) VALUES (:i, :w)"),
        [{"i": i, "w": w} for i, w in enumerate(words)],
    )
    first: dict[int, str] = {}
    for term, row in conn.execute(sa.text("SELECT term, doc FROM temp.retrieval_query_stems")):
        first.setdefault(int(row), str(term))
    return [first.get(i, w) for i, w in enumerate(words)]


def _document_frequencies(conn: Connection, stems: list[str]) -> dict[str, int]:
    """How many chunks hold each stem (all collections), cached per process for ``DF_TTL_S``."""
    key = str(conn.engine.url)
    now = time.monotonic()
    stamp, cache = _DF_CACHE.get(key, (now, {}))
    if now - stamp > DF_TTL_S:
        stamp, cache = now, {}
    missing = [t for t in stems if t not in cache]
    if missing:
        conn.execute(
            sa.text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.retrieval_vocab "
                "USING fts5vocab(main, retrieval_chunks_fts, row)"
            )
        )
        params = {f"t{i}": t for i, t in enumerate(missing)}
        found: dict[str, int] = dict(
            conn.execute(
                sa.text(
                    "SELECT term, doc FROM temp.retrieval_vocab WHERE term IN ("
                    + ", ".join(f":{k}" for k in params)
                    + ")"
                ),
                params,
            ).all()
        )
        cache.update({t: int(found.get(t, 0)) for t in missing})
    _DF_CACHE[key] = (stamp, cache)
    return {t: cache[t] for t in stems}


def _prune_common(conn: Connection, words: list[str]) -> tuple[list[str], bool]:
    """Drop the words whose stem occurs in more than ``COMMON_SHARE`` of the chunks (and more
    than ``COMMON_MIN_CHUNKS``). When every word is common, the three rarest are kept and
    required together (``True``: AND them). The words stay as they are: FTS5 stems a query
    itself, and stemming a stem again can change it."""
    total = conn.execute(sa.text("SELECT max(id) FROM retrieval_chunks")).scalar() or 0
    stems = _stems(conn, words)
    found = _document_frequencies(conn, list(dict.fromkeys(stems)))
    limit = max(COMMON_MIN_CHUNKS, COMMON_SHARE * total)
    kept = [w for w, stem in zip(words, stems, strict=True) if found.get(stem, 0) <= limit]
    if kept:
        return kept, False
    rarest = sorted(zip(words, stems, strict=True), key=lambda ws: found.get(ws[1], 0))
    return [w for w, _ in rarest[:3]], True


class SqliteFullText:
    """FTS5 BM25 (title 2x, heading 1.5x) over the query's content words.

    The index is shared by every collection: the top matches are read from the index alone (no
    join per match) and kept when they belong to the collection; only when that leaves too few
    does the query run again joined with the chunks (a small collection beside a big one)."""

    OVERFETCH = 4

    def search(
        self, conn: Connection, collection_id: int, query: str, limit: int
    ) -> list[tuple[int, float]]:
        words = query_terms(query)
        if not words:
            return []
        try:
            words, conjunctive = _prune_common(conn, words)
        except sa.exc.OperationalError:  # an SQLite without fts5vocab: every word
            conjunctive = False
        match = (" AND " if conjunctive else " OR ").join(f'"{t}"' for t in words)
        fetch = limit * self.OVERFETCH
        rows = conn.execute(
            sa.text(
                "SELECT rowid, bm25(retrieval_chunks_fts, 2.0, 1.5, 1.0) AS s "
                "FROM retrieval_chunks_fts WHERE retrieval_chunks_fts MATCH :q "
                "ORDER BY s LIMIT :n"
            ),
            {"q": match, "n": fetch},
        ).all()
        ours = _in_collection(conn, collection_id, [int(r[0]) for r in rows])
        hits = [(int(r[0]), -float(r[1])) for r in rows if int(r[0]) in ours]
        if len(hits) < limit and len(rows) == fetch:  # other collections crowd this one out
            rows = conn.execute(
                sa.text(
                    "SELECT f.rowid, bm25(retrieval_chunks_fts, 2.0, 1.5, 1.0) AS s "
                    "FROM retrieval_chunks_fts f JOIN retrieval_chunks c ON c.id = f.rowid "
                    "WHERE retrieval_chunks_fts MATCH :q AND c.collection_id = :cid "
                    "ORDER BY s LIMIT :n"
                ),
                {"q": match, "cid": collection_id, "n": limit},
            ).all()
            hits = [(int(r[0]), -float(r[1])) for r in rows]
        return hits[:limit]  # FTS5's bm25 is lower-is-better: negated, higher is better


def _in_collection(conn: Connection, collection_id: int, ids: list[int]) -> set[int]:
    """The ``ids`` that are chunks of the collection."""
    out: set[int] = set()
    for start in range(0, len(ids), 500):
        params = {f"i{i}": v for i, v in enumerate(ids[start : start + 500])}
        out.update(
            int(r[0])
            for r in conn.execute(
                sa.text(
                    "SELECT id FROM retrieval_chunks WHERE collection_id = :cid AND id IN ("
                    + ", ".join(f":{k}" for k in params)
                    + ")"
                ),
                {"cid": collection_id, **params},
            )
        )
    return out


_PG_STATS: dict[str, tuple[float, dict[str, float], float]] = {}


def _pg_lexeme_stats(conn: Connection) -> tuple[dict[str, float], float]:
    """(share of the chunks holding each frequent lexeme, the share above which one is common),
    from the planner's statistics of the tsvector column (``ANALYZE`` keeps them; refreshed here
    at most once a minute). A lexeme missing from the statistics is rarer than all listed."""
    key = str(conn.engine.url)
    cached = _PG_STATS.get(key)
    if cached is not None and time.monotonic() - cached[0] < 60:
        return cached[1], cached[2]
    row = conn.execute(
        sa.text(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs, "
            "(SELECT reltuples FROM pg_class WHERE relname = 'retrieval_chunks') "
            "FROM pg_stats WHERE tablename = 'retrieval_chunks' AND attname = 'tsv'"
        )
    ).first()
    shares: dict[str, float] = {}
    floor = 1.0
    if row is not None and row[0]:
        floor = max(COMMON_SHARE, COMMON_MIN_CHUNKS / max(float(row[2] or 0), 1.0))
        shares = dict(zip(row[0], row[1], strict=False))
    _PG_STATS[key] = (time.monotonic(), shares, floor)
    return shares, floor


class PostgresFullText:
    """``ts_rank`` (normalised by the chunk's length) over a generated ``tsvector`` with a GIN
    index. ``ts_rank_cd`` (cover density) ranks the banking queries worse (hybrid recall@20
    0.385 against 0.467, nDCG@10 0.340 against 0.393) and costs four times as much per match
    (215 against 55 ms for a query matching 17k of 100k chunks). When every word of the query
    is common, only a bounded sample of the chunks holding its three rarest is ranked: such a
    query carries almost no lexical signal (the vector list decides), and ranking all of them
    cost 60-110 ms at 100k chunks."""

    def search(
        self, conn: Connection, collection_id: int, query: str, limit: int
    ) -> list[tuple[int, float]]:
        terms = query_terms(query)
        if not terms:
            return []
        lexemes = conn.execute(
            sa.text("SELECT tsvector_to_array(to_tsvector('english', :q))"),
            {"q": " ".join(terms)},
        ).scalar_one()
        if not lexemes:
            return []
        shares, floor = _pg_lexeme_stats(conn)
        kept = [lex for lex in lexemes if shares.get(lex, 0.0) <= floor]
        if kept:
            match, cap = " | ".join(f"'{lex}'" for lex in kept), None
        else:  # every lexeme common: the rarest three together, ranked among a bounded sample
            rarest = sorted(lexemes, key=lambda lex: shares.get(lex, 0.0))[:3]
            match, cap = " & ".join(f"'{lex}'" for lex in rarest), max(limit * 10, 1000)
        source = (
            "retrieval_chunks"
            if cap is None
            else "(SELECT id, tsv, collection_id FROM retrieval_chunks "
            "WHERE collection_id = :cid AND tsv @@ to_tsquery('simple', :q) LIMIT :cap) AS c"
        )
        rows = conn.execute(
            sa.text(
                f"SELECT id, ts_rank(tsv, q, 1) AS s FROM {source}, to_tsquery('simple', :q) AS q "
                "WHERE collection_id = :cid AND tsv @@ q ORDER BY s DESC LIMIT :n"
            ),
            {"q": match, "cid": collection_id, "n": limit, "cap": cap},
        ).all()
        return [(int(r[0]), float(r[1])) for r in rows]


def full_text_for(dialect: str) -> FullText:
    return PostgresFullText() if dialect == "postgresql" else SqliteFullText()
