"""Retrieval: ingestion, chunking, embeddings, hybrid search, grounding of answers."""

from waypost.retrieval.chunking import Chunk, chunk_document
from waypost.retrieval.embeddings import Embedder, make_embedder
from waypost.retrieval.loaders import FileError, SourceDocument, iter_documents
from waypost.retrieval.search import Hit, SearchResult, search
from waypost.retrieval.store import (
    Collection,
    IngestReport,
    ensure_collection,
    ingest_documents,
    list_collections,
)

__all__ = [
    "Chunk",
    "Collection",
    "Embedder",
    "FileError",
    "Hit",
    "IngestReport",
    "SearchResult",
    "SourceDocument",
    "chunk_document",
    "ensure_collection",
    "ingest_documents",
    "iter_documents",
    "list_collections",
    "make_embedder",
    "search",
]
