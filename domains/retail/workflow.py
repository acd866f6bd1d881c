"""``retail_support``: customer support for an online store, on typed tools and a real store."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from waypost.agents.structured import StepModels, invoke_structured
from waypost.domains.retail.graph import RetailGraphConfig, StructuredCall, build_retail_graph
from waypost.domains.retail.state import RetailInput, RetailOutput
from waypost.domains.retail.store_client import StoreClient
from waypost.domains.retail.tools import build_retail_registry
from waypost.graphs.registry import GraphDeps, WorkflowSpec
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import Settings

__all__ = ["RETAIL_STEPS", "build_retail_graph", "make_structured_call", "retail_support_spec"]

# The judgement steps and the models they use: the smallest capable first, then fallbacks.
# Overridden per deployment with deps.overrides["step_models"] = {"plan": ("openai:...",)}.
RETAIL_STEPS = ("intake", "plan")


def _messages(pairs: list[tuple[str, str]]) -> list[BaseMessage]:
    return [SystemMessage(t) if role == "system" else HumanMessage(t) for role, t in pairs]


def make_structured_call(
    settings: Settings,
    *,
    model_factory: Any = None,
    step_models: dict[str, tuple[str, ...]] | None = None,
) -> StructuredCall:
    """A ``structured(step, schema, messages)`` callable over the model layer.

    Models are resolved on first use (never at import or build time) and reused afterwards.
    """
    chains: dict[str, Any] = {}
    overrides = step_models or {}

    def resolve(name: str, model_settings: Any) -> Any:
        return (
            model_factory(name)
            if model_factory is not None
            else _registry_model(name, model_settings)
        )

    def call(
        step: str, schema: type[Any], pairs: list[tuple[str, str]]
    ) -> tuple[Any, dict[str, Any]]:
        if step not in chains:
            names = overrides.get(step) or (settings.models.default,)
            spec = StepModels(primary=names[0], fallbacks=tuple(names[1:]))
            chains[step] = (spec, spec.build(settings.models, resolve))
        spec, chain = chains[step]
        result = invoke_structured(
            chain, schema, _messages(pairs), max_reasks=spec.reasks(settings.models)
        )
        usage = {
            "model": result.model_name,
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "attempts": len(result.attempts),
        }
        return result.value, usage

    return call


def _registry_model(name: str, model_settings: Any) -> Any:
    from waypost.agents.registry import get_chat_model

    return get_chat_model(name, model_settings)


def build(deps: GraphDeps) -> Any:
    """Build ``retail_support`` from injected dependencies (the registry's factory)."""
    factory = deps.session_factory
    if factory is None:
        factory = make_session_factory(make_engine(deps.settings.database))
    store = StoreClient(build_retail_registry(), factory)
    structured = None
    if not deps.overrides.get("code_only"):
        structured = make_structured_call(
            deps.settings,
            model_factory=deps.model_factory,
            step_models=deps.overrides.get("step_models"),
        )
    config = deps.overrides.get("graph_config") or RetailGraphConfig()
    return build_retail_graph(
        store=store, structured=structured, checkpointer=deps.checkpointer, config=config
    )


def retail_support_spec() -> WorkflowSpec:
    return WorkflowSpec(
        name="retail_support",
        description=(
            "Customer support for an online store: identifies the customer, looks up orders and "
            "products, plans cancellations, modifications, returns and exchanges, checks them "
            "against policy, asks a human to approve each one, executes it and replies."
        ),
        build=build,
        input_schema=RetailInput,
        output_schema=RetailOutput,
        version="1",
        metadata={"policy": "domains/retail/policy.md", "steps_with_models": list(RETAIL_STEPS)},
    )
