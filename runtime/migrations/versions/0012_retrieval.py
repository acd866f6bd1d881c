"""retrieval: collections, documents, chunks (with full-text indexes), an embedding cache by
content hash, and the retrieval log

SQLite gets an FTS5 table over the chunks kept in step by triggers; PostgreSQL a generated
tsvector column with a GIN index. Vectors are float32 blobs scored by an exact index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retrieval_collections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("embedder", sa.String(128), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "name", name="uq_retrieval_collections_tenant_name"),
    )
    op.create_table(
        "retrieval_documents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "collection_id", sa.Integer,
            sa.ForeignKey("retrieval_collections.id", ondelete="CASCADE"), nullable=False,
        ),
        sa.Column("doc_key", sa.String(512), nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("meta", sa.JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("collection_id", "doc_key", name="uq_retrieval_documents_key"),
    )
    op.create_table(
        "retrieval_chunks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "collection_id", sa.Integer,
            sa.ForeignKey("retrieval_collections.id", ondelete="CASCADE"), nullable=False,
        ),
        sa.Column(
            "document_id", sa.Integer,
            sa.ForeignKey("retrieval_documents.id", ondelete="CASCADE"), nullable=False,
        ),
        sa.Column("chunk_id", sa.String(600), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("heading", sa.Text, nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("meta", sa.JSON, nullable=True),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("collection_id", "chunk_id", name="uq_retrieval_chunks_chunk_id"),
    )
    op.create_index("ix_retrieval_chunks_document_id", "retrieval_chunks", ["document_id"])
    op.create_table(
        "retrieval_embedding_cache",
        sa.Column("embedder", sa.String(128), primary_key=True),
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "retrieval_searches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("collection", sa.String(128), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_retrieval_searches_tenant_created_at", "retrieval_searches", ["tenant", "created_at"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE retrieval_chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', title || ' ' || heading || ' ' || text)) STORED"
        )
        op.execute("CREATE INDEX ix_retrieval_chunks_tsv ON retrieval_chunks USING GIN (tsv)")
        op.execute(
            "CREATE INDEX ix_retrieval_chunks_collection ON retrieval_chunks (collection_id)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE retrieval_chunks_fts USING fts5(title, heading, text, "
            "content='retrieval_chunks', content_rowid='id', tokenize='porter unicode61')"
        )
        op.execute(
            "CREATE TRIGGER retrieval_chunks_ai AFTER INSERT ON retrieval_chunks BEGIN "
            "INSERT INTO retrieval_chunks_fts(rowid, title, heading, text) "
            "VALUES (new.id, new.title, new.heading, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER retrieval_chunks_ad AFTER DELETE ON retrieval_chunks BEGIN "
            "INSERT INTO retrieval_chunks_fts(retrieval_chunks_fts, rowid, title, heading, text) "
            "VALUES ('delete', old.id, old.title, old.heading, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER retrieval_chunks_au AFTER UPDATE ON retrieval_chunks BEGIN "
            "INSERT INTO retrieval_chunks_fts(retrieval_chunks_fts, rowid, title, heading, text) "
            "VALUES ('delete', old.id, old.title, old.heading, old.text); "
            "INSERT INTO retrieval_chunks_fts(rowid, title, heading, text) "
            "VALUES (new.id, new.title, new.heading, new.text); END"
        )
        op.execute(
            "CREATE INDEX ix_retrieval_chunks_collection ON retrieval_chunks (collection_id)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS retrieval_chunks_fts")
    op.drop_table("retrieval_searches")
    op.drop_table("retrieval_embedding_cache")
    op.drop_table("retrieval_chunks")
    op.drop_table("retrieval_documents")
    op.drop_table("retrieval_collections")
