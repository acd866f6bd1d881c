"""``retail_support`` under evaluation: the real graph on the case's store, approvals answered
by the eval's policy, every validator finding collected from the stream of node updates."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from waypost.domains.retail.evals.conversation import drive
from waypost.domains.retail.graph import RetailGraphConfig, build_retail_graph
from waypost.domains.retail.knowledge import RetailKnowledge
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.evals.record import CaseRecord
from waypost.evals.workflows.base import CaseRun
from waypost.graphs.plugins import migrate
from waypost.retrieval.embeddings import make_embedder
from waypost.runtime.db import make_engine
from waypost.runtime.settings import DatabaseSettings, get_settings

__all__ = ["RetailSupportWorkflow"]


class RetailSupportWorkflow:
    name = "retail_support"

    def __init__(
        self, adapter: Any, config: RetailGraphConfig | None = None, *, knowledge: bool = True
    ) -> None:
        self.adapter = adapter
        self.config = config or RetailGraphConfig()
        self.knowledge = knowledge
        self._knowledge: RetailKnowledge | None = None
        self._lock = threading.Lock()

    def run(self, run: CaseRun) -> CaseRecord:
        graph = build_retail_graph(
            store=StoreClient(build_retail_registry(), run.store.session_factory),
            structured=run.models.structured(run.case, run.initial_db, self.adapter),
            checkpointer=InMemorySaver(),
            config=self._config(run),
        )
        return drive(graph, run, adapter=self.adapter)

    def _config(self, run: CaseRun) -> RetailGraphConfig:
        """The config with the knowledge collection: one database for the whole eval (cases'
        stores are copies of one world, so the catalogue is embedded once, not per case)."""
        if not self.knowledge or self.config.knowledge is not None:
            return self.config
        with self._lock:
            if self._knowledge is None:
                folder = Path(tempfile.mkdtemp(prefix="waypost-eval-knowledge-"))
                engine = make_engine(DatabaseSettings(url=f"sqlite:///{folder / 'k.db'}"))
                migrate(engine)
                embedder = make_embedder(get_settings().retrieval)
                self._knowledge = RetailKnowledge(engine, embedder)
        return replace(self.config, knowledge=self._knowledge)
