"""``retail_agent`` under evaluation: the kit's tool-calling agent (the ReAct baseline rebuilt
on the kit) with the same tools, policy and model as ``retail_support``; its approvals are
answered by the eval's policy like the workflow's."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from waypost.domains.retail.evals.conversation import drive
from waypost.domains.retail.tools import build_retail_registry
from waypost.domains.retail.workflow import agent_settings
from waypost.evals.record import CaseRecord
from waypost.evals.workflows.base import CaseRun
from waypost.graphs.kit import ToolRunner, build_tool_agent

__all__ = ["RetailAgentWorkflow"]


class RetailAgentWorkflow:
    name = "retail_agent"

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    def run(self, run: CaseRun) -> CaseRecord:
        graph = build_tool_agent(
            model=run.models.chat_model(),
            runner=ToolRunner(build_retail_registry(), run.store.session_factory),
            settings=agent_settings(),
            checkpointer=InMemorySaver(),
        )
        return drive(graph, run, adapter=self.adapter)
