"""Model steps: how a workflow's judgement steps reach the model layer.

A workflow declares its model steps by name (``intake``, ``plan``...). ``StepModelsCaller``
gives each step its model chain (a per-step override, else the default model), runs it with
structured output (schema-constrained, validated, re-asked, then the next model), and reports
which model answered, tokens and attempts. Chains are built on first use, never at import or
graph build time, and reused afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from waypost.agents.structured import StepModels, invoke_structured
from waypost.runtime.settings import ModelSettings, Settings

__all__ = ["ModelFactory", "StepModelsCaller", "StructuredCall", "as_messages"]

# (step, schema, [(role, text)...]) -> (validated object, usage record)
StructuredCall = Callable[[str, type[Any], list[tuple[str, str]]], tuple[Any, dict[str, Any]]]
ModelFactory = Callable[[str], Any]  # model name -> langchain BaseChatModel


def as_messages(pairs: list[tuple[str, str]]) -> list[BaseMessage]:
    return [SystemMessage(t) if role == "system" else HumanMessage(t) for role, t in pairs]


class StepModelsCaller:
    """A ``StructuredCall`` over the model layer, one model chain per step."""

    def __init__(
        self,
        settings: Settings,
        *,
        model_factory: ModelFactory | None = None,
        step_models: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.settings = settings
        self.model_factory = model_factory
        self.step_models = dict(step_models or {})
        self._chains: dict[str, tuple[StepModels, Any]] = {}

    def resolve(self, name: str, model_settings: ModelSettings) -> Any:
        """The chat model called ``name`` (the factory given, else the model registry)."""
        if self.model_factory is not None:
            return self.model_factory(name)
        from waypost.agents.registry import get_chat_model

        return get_chat_model(name, model_settings)

    def models_for(self, step: str) -> StepModels:
        names = self.step_models.get(step) or (self.settings.models.default,)
        return StepModels(primary=names[0], fallbacks=tuple(names[1:]))

    def _built(self, step: str) -> tuple[StepModels, Any]:
        if step not in self._chains:
            spec = self.models_for(step)
            self._chains[step] = (spec, spec.build(self.settings.models, self.resolve))
        return self._chains[step]

    def chain(self, step: str) -> Any:
        """The step's ``ModelChain`` (primary model, then fallbacks), e.g. for
        ``build_tool_agent(model=...)``; built once and reused."""
        return self._built(step)[1]

    def __call__(
        self, step: str, schema: type[Any], pairs: list[tuple[str, str]]
    ) -> tuple[Any, dict[str, Any]]:
        spec, chain = self._built(step)
        result = invoke_structured(
            chain, schema, as_messages(pairs), max_reasks=spec.reasks(self.settings.models)
        )
        usage = {
            "model": result.model_name,
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "attempts": len(result.attempts),
        }
        return result.value, usage
