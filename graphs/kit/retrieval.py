"""Retrieval steps any workflow can use: a ``retrieve`` node and a grounded answer.

``Retriever`` searches one collection of the run's tenant (hybrid search, logged, traced as a
retriever observation). ``retrieve_node`` puts the hits in the state under ``retrieved``.
``grounded_answer`` checks an answer's sentences against the cited chunks and the workflow's
own records and drops (or flags) what no source supports; when nothing is left it abstains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from sqlalchemy.engine import Engine
from waypost.graphs.kit.tools import run_tenant
from waypost.retrieval.embeddings import Embedder
from waypost.retrieval.grounding import GroundingReport, check_answer
from waypost.retrieval.search import Hit, search

__all__ = ["ABSTAIN", "Retriever", "grounded_answer", "hits_as_sources", "retrieve_node"]

ABSTAIN = "I could not find this in our documents; a colleague will follow up."


@dataclass
class Retriever:
    engine: Engine
    embedder: Embedder
    collection: str
    tenant: str = "default"  # outside a served run (CLI, evals)
    k: int = 5
    filters: dict[str, Any] | None = None

    def __call__(self, query: str, config: RunnableConfig | None = None) -> list[Hit]:
        configurable = (config or {}).get("configurable") or {}
        return search(
            self.engine,
            self.embedder,
            tenant=run_tenant(config) or self.tenant,
            collection=self.collection,
            query=query,
            k=self.k,
            filters=self.filters,
            run_id=configurable.get("run_id"),
        ).hits


def retrieve_node(
    retriever: Retriever, *, query_of: Callable[[Mapping[str, Any]], str], key: str = "retrieved"
) -> Callable[[Mapping[str, Any], RunnableConfig], dict[str, Any]]:
    """A graph node: search with the state's query, put the hits (as dicts) under ``key``."""

    def retrieve(state: Mapping[str, Any], config: RunnableConfig) -> dict[str, Any]:
        query = query_of(state)
        hits = retriever(query, config) if query.strip() else []
        return {key: [h.as_dict() for h in hits]}

    return retrieve


def hits_as_sources(hits: Sequence[Hit | Mapping[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in hits:
        row = h.as_dict() if isinstance(h, Hit) else h
        out[str(row["chunk_id"])] = (
            f"{row.get('title', '')}\n{row.get('heading', '')}\n{row['text']}"
        )
    return out


def grounded_answer(
    answer: str,
    hits: Sequence[Hit | Mapping[str, Any]],
    records: Mapping[str, str] | None = None,
    *,
    action: str = "drop",
    abstain: str | None = ABSTAIN,
) -> GroundingReport:
    """Keep the sentences of ``answer`` that its cited chunks (or the records) support."""
    sources = {**hits_as_sources(hits), **(records or {})}
    report = check_answer(answer, sources, action=action)
    if not report.answer and abstain is not None and report.sentences:
        report.answer = abstain
    return report
