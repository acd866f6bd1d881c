"""The retrieval tables (created by migration 0011), as SQLAlchemy Core tables."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

collections = sa.Table(
    "retrieval_collections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("embedder", sa.String(128), nullable=False),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

documents = sa.Table(
    "retrieval_documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection_id", sa.Integer, nullable=False),
    sa.Column("doc_key", sa.String(512), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("meta", sa.JSON, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

chunks = sa.Table(
    "retrieval_chunks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection_id", sa.Integer, nullable=False),
    sa.Column("document_id", sa.Integer, nullable=False),
    sa.Column("chunk_id", sa.String(600), nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("heading", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("meta", sa.JSON, nullable=True),
    sa.Column("embedding", sa.LargeBinary, nullable=False),
)

embedding_cache = sa.Table(
    "retrieval_embedding_cache",
    metadata,
    sa.Column("embedder", sa.String(128), primary_key=True),
    sa.Column("content_hash", sa.String(64), primary_key=True),
    sa.Column("embedding", sa.LargeBinary, nullable=False),
)

searches = sa.Table(
    "retrieval_searches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("collection", sa.String(128), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("results", sa.JSON, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
