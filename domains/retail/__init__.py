"""The retail domain: an online store's customer support on the tau2-bench retail world.

It registers through the ``waypost.domains`` entry point like any third-party domain: its store
tables (own Alembic branch ``retail``), 16 typed tools, policy, workflows, ``waypost store``
commands, the demo and its eval adapter all live in this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from waypost.graphs.plugins import Domain
from waypost.graphs.registry import WorkflowSpec

__all__ = ["POLICY_PATH", "domain"]

POLICY_PATH = Path(__file__).parent / "policy.md"


def _workflows() -> Sequence[WorkflowSpec]:
    from waypost.domains.retail.workflow import retail_agent_spec, retail_support_spec

    return [retail_support_spec(), retail_agent_spec()]


domain = Domain(
    name="retail",
    description="Customer support for an online store (tau2-bench retail).",
    workflows=_workflows,
    migrations=Path(__file__).parent / "migrations",
    commands={"store": "waypost.domains.retail.cli:app"},
    eval_adapter="waypost.domains.retail.evals:adapter",
    demo="waypost.domains.retail.demo:prepare_demo",
)
