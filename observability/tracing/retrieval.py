"""``observe_retrieval``: report a search made from a graph node as a retriever observation.

Emits LangChain's ``on_retriever_start`` / ``on_retriever_end`` on the node's callback manager,
so the Langfuse handler records a ``retriever`` observation (the query in, the chunks with their
ids and scores out) under the node, in the run's trace. Outside a run it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.documents import Document
from langchain_core.runnables.config import (
    get_callback_manager_for_config,
    var_child_runnable_config,
)

__all__ = ["RetrievalObservation", "observe_retrieval"]


@dataclass
class RetrievalObservation:
    """Filled in by the caller: (chunk id, score, text, metadata) per hit, best first."""

    hits: list[tuple[str, float, str, dict[str, Any]]] = field(default_factory=list)
    latency_ms: float = 0.0

    def finish(
        self, hits: Sequence[tuple[str, float, str, dict[str, Any]]], latency_ms: float
    ) -> None:
        self.hits, self.latency_ms = list(hits), latency_ms


@contextmanager
def observe_retrieval(
    name: str, query: str, *, metadata: dict[str, Any] | None = None
) -> Iterator[RetrievalObservation]:
    """Wrap one search; call ``obs.finish(hits, latency_ms)`` inside the block."""
    obs = RetrievalObservation()
    config = var_child_runnable_config.get()
    if not config or not config.get("callbacks"):
        yield obs
        return
    manager = get_callback_manager_for_config(config)
    # the manager passes its own metadata to handlers: ours travels in ``serialized``
    run = manager.on_retriever_start({"name": name, "kwargs": metadata or {}}, query, name=name)
    try:
        yield obs
    except BaseException as exc:
        run.on_retriever_error(exc)
        raise
    run.on_retriever_end(
        [
            Document(
                page_content=text,
                metadata={**meta, "chunk_id": cid, "score": score, "latency_ms": obs.latency_ms},
            )
            for cid, score, text, meta in obs.hits
        ]
    )
