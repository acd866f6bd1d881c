"""The retail domain's eval adapter: its two workflows, fresh stores per case (the demo store
or a tau2 ``db.json``), the consequential tools, and the tau2 gold oracles."""

from __future__ import annotations

from typing import Any

from waypost.domains.retail.evals.oracle import GoldOracle, oracle_addendum
from waypost.domains.retail.evals.worlds import WorldTemplates
from waypost.domains.retail.tools import CONSEQUENTIAL_TOOLS
from waypost.evals.adapter import EvalAdapter, WorkflowOptions
from waypost.runtime.errors import ConfigError

__all__ = ["adapter"]


def _support(options: WorkflowOptions) -> Any:
    from waypost.domains.retail.evals.support import RetailSupportWorkflow
    from waypost.domains.retail.graph import RetailGraphConfig

    if options.planner not in ("model", "draft", "auto"):
        raise ConfigError("--planner must be 'model', 'draft' or 'auto'")
    return RetailSupportWorkflow(
        adapter,
        RetailGraphConfig(planner=options.planner),  # type: ignore[arg-type]
        knowledge=bool(options.extra.get("knowledge", True)),
    )


def _agent(options: WorkflowOptions) -> Any:
    from waypost.domains.retail.evals.agent import RetailAgentWorkflow

    return RetailAgentWorkflow(adapter)


adapter = EvalAdapter(
    domain="retail",
    # react_baseline: the name the comparison tables use for retail_agent
    workflows={"retail_support": _support, "retail_agent": _agent, "react_baseline": _agent},
    worlds=WorldTemplates,
    consequential_tools=CONSEQUENTIAL_TOOLS,
    escalation_tool="transfer_to_human_agents",
    oracles={
        "scripted:gold": lambda case, db: GoldOracle(case, db),
        "scripted:naive": lambda case, db: GoldOracle(case, db, naive=True),
    },
    oracle_addendum=oracle_addendum,
)
