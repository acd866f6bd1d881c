"""``retail_support`` under evaluation: the real graph on the case's store, approvals answered
by the eval's policy, every validator finding collected from the stream of node updates."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from waypost.domains.retail.evals.conversation import drive
from waypost.domains.retail.graph import RetailGraphConfig, build_retail_graph
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.evals.record import CaseRecord
from waypost.evals.workflows.base import CaseRun

__all__ = ["RetailSupportWorkflow"]


class RetailSupportWorkflow:
    name = "retail_support"

    def __init__(self, adapter: Any, config: RetailGraphConfig | None = None) -> None:
        self.adapter = adapter
        self.config = config or RetailGraphConfig()

    def run(self, run: CaseRun) -> CaseRecord:
        graph = build_retail_graph(
            store=StoreClient(build_retail_registry(), run.store.session_factory),
            structured=run.models.structured(run.case, run.initial_db, self.adapter),
            checkpointer=InMemorySaver(),
            config=self.config,
        )
        return drive(graph, run, adapter=self.adapter)
