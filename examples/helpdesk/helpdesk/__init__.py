"""An IT helpdesk, as a Waypost domain plug-in.

Waypost finds ``domain`` through the ``waypost.domains`` entry point in this package's
``pyproject.toml``. Heavy parts load only when used: the workflow when a server or the CLI
builds it, the CLI group when ``waypost`` starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from waypost.graphs.plugins import Domain
from waypost.graphs.registry import WorkflowSpec

__all__ = ["domain"]


def _workflows() -> Sequence[WorkflowSpec]:
    from helpdesk.workflow import helpdesk_spec

    return [helpdesk_spec()]


domain = Domain(
    name="helpdesk",
    description="An IT helpdesk: tickets, devices, password resets and device wipes.",
    workflows=_workflows,
    migrations=Path(__file__).parent / "migrations",
    commands={"helpdesk": "helpdesk.cli:app"},
)
