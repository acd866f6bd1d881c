"""Built-in workflows. Each domain workflow module adds its ``WorkflowSpec`` here."""

from __future__ import annotations

from graphs.registry import GraphRegistry


def register_all(registry: GraphRegistry) -> None:
    """Register every built-in workflow; domain modules are imported here, lazily."""
    from graphs.retail import retail_support_spec

    registry.register(retail_support_spec())
