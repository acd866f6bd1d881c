"""Model steps: how a workflow's judgement steps reach the model layer.

A workflow declares its model steps by name (``intake``, ``plan``...). ``StepModelsCaller``
gives each step its model chain from the routing table (``agents.routing``: per workflow, per
step, a primary model, fallbacks and an optional cascade; a run's ``config.configurable.routing``
overrides the deployment's table), runs it with structured output (schema-constrained,
validated, re-asked, then the next model), and reports which model answered, why that model
(``route_reason``), tokens and attempts. Chains are built on first use, never at import or
graph build time, and reused afterwards.

Route reasons: ``table`` (the routing table chose it), ``override`` (the workflow's
``step_models``), ``default`` (no route: the configured default model),
``fallback:<error code>`` (the models before it failed), ``cascade:<why>`` (a cascade escalated
the step: the smaller model's output failed validation, or the workflow's validator rejected
it and the workflow asked for an escalation).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from waypost.agents.routing import (
    CODE,
    ResolvedRoute,
    RoutingTable,
    StepRoute,
    parse_routing,
    routing_from_settings,
)
from waypost.agents.structured import StepModels, StructuredResult, invoke_structured
from waypost.runtime.errors import ModelError, RoutedToCode, StructuredOutputError
from waypost.runtime.settings import ModelSettings, Settings

__all__ = [
    "ModelFactory",
    "StepModelsCaller",
    "StructuredCall",
    "as_messages",
    "configured_routing",
]

ModelFactory = Callable[[str], Any]  # model name -> langchain BaseChatModel
_REASON_CHARS = 120


class StructuredCall(Protocol):
    """``(step, schema, [(role, text)...]) -> (validated object, usage record)``.

    ``escalate_after`` (a model name) and ``because`` ask a cascading step to answer with the
    model after the one that produced a rejected answer; callers without cascades ignore them.
    """

    def __call__(
        self,
        step: str,
        schema: type[Any],
        pairs: list[tuple[str, str]],
        /,
        *,
        escalate_after: str | None = None,
        because: str | None = None,
    ) -> tuple[Any, dict[str, Any]]: ...


def as_messages(pairs: list[tuple[str, str]]) -> list[BaseMessage]:
    return [SystemMessage(t) if role == "system" else HumanMessage(t) for role, t in pairs]


def configured_routing() -> RoutingTable | None:
    """The running graph's ``config.configurable.routing`` (an assistant's), if any."""
    try:
        from langgraph.config import get_config

        raw = (get_config().get("configurable") or {}).get("routing")
    except RuntimeError:  # called outside a running graph
        return None
    if not raw:
        return None
    return parse_routing(raw, source="config.configurable.routing")


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 3] + "..."


def _why_failed(exc: ModelError) -> str:
    """A one-line cause: the last attempt's validation error, else the error code."""
    attempts = (exc.details or {}).get("attempts") or []
    if isinstance(exc, StructuredOutputError) and attempts:
        return _short(attempts[-1].get("error") or exc.code)
    return exc.code


class StepModelsCaller:
    """A ``StructuredCall`` over the model layer, one route per step of one workflow."""

    def __init__(
        self,
        settings: Settings,
        *,
        model_factory: ModelFactory | None = None,
        step_models: Mapping[str, tuple[str, ...]] | None = None,
        workflow: str = "*",
        routing: RoutingTable | None = None,
    ) -> None:
        self.settings = settings
        self.model_factory = model_factory
        self.step_models = dict(step_models or {})
        self.workflow = workflow
        self.routing = routing if routing is not None else routing_from_settings(settings)
        self._chains: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str, model_settings: ModelSettings) -> Any:
        """The chat model called ``name`` (the factory given, else the model registry)."""
        if self.model_factory is not None:
            return self.model_factory(name)
        from waypost.agents.registry import get_chat_model

        return get_chat_model(name, model_settings)

    def route_for(self, step: str, override: RoutingTable | None = None) -> ResolvedRoute:
        """The step's route: ``step_models`` first, then the (overridden) table, else default."""
        names = self.step_models.get(step)
        if names:
            return ResolvedRoute(StepRoute(model=names[0], fallbacks=tuple(names[1:])), "override")
        table = self.routing.merged(override) if override else self.routing
        return table.resolve(self.workflow, step, self.settings.models.default)

    def models_for(self, step: str) -> StepModels:
        route = self.route_for(step).route
        return StepModels(
            primary=route.model, fallbacks=tuple(route.fallbacks), max_reasks=route.max_reasks
        )

    def _chain(self, names: tuple[str, ...]) -> Any:
        with self._lock:
            if names not in self._chains:
                spec = StepModels(primary=names[0], fallbacks=names[1:])
                self._chains[names] = spec.build(self.settings.models, self.resolve)
            return self._chains[names]

    def chain(self, step: str) -> Any:
        """The step's ``ModelChain`` (primary model, then fallbacks), e.g. for
        ``build_tool_agent(model=...)``; built once and reused."""
        return self._chain(self.route_for(step).route.models)

    def _reasks(self, route: StepRoute) -> int:
        return route.max_reasks if route.max_reasks is not None else self.settings.models.max_reasks

    def __call__(
        self,
        step: str,
        schema: type[Any],
        pairs: list[tuple[str, str]],
        /,
        *,
        escalate_after: str | None = None,
        because: str | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        resolved = self.route_for(step, configured_routing())
        route = resolved.route
        if route.is_code:
            raise RoutedToCode(
                f"step {step!r} is routed to code",
                usage={"model": CODE, "route_reason": resolved.source},
            )
        messages = as_messages(pairs)
        if route.cascade:
            return self._cascade(resolved, schema, messages, escalate_after, because)
        result = invoke_structured(
            self._chain(route.models), schema, messages, max_reasks=self._reasks(route)
        )
        reason = resolved.source
        if result.model_name != route.model:
            failed = [a for a in result.attempts if a.error and a.model != result.model_name]
            reason = f"fallback:{failed[-1].code if failed else 'error'}"
        return result.value, _usage(result, reason)

    def _cascade(
        self,
        resolved: ResolvedRoute,
        schema: type[Any],
        messages: list[BaseMessage],
        escalate_after: str | None,
        because: str | None,
    ) -> tuple[Any, dict[str, Any]]:
        """Each model alone, smallest first: escalate on invalid output (no re-asks below the
        top model) or, when asked, after the model whose answer the workflow rejected."""
        models = resolved.route.models
        start, reason = 0, resolved.source
        if escalate_after in models:
            after = models.index(escalate_after)
            if after + 1 < len(models):
                start, reason = after + 1, f"cascade:{_short(because or 'rejected')}"
            else:
                start = after  # already the largest model: it tries again
        last: ModelError | None = None
        attempts = 0
        for level in range(start, len(models)):
            top = level == len(models) - 1
            try:
                result = invoke_structured(
                    self._chain((models[level],)),
                    schema,
                    messages,
                    max_reasks=self._reasks(resolved.route) if top else 0,
                )
            except ModelError as exc:
                last = exc
                attempts += len((exc.details or {}).get("attempts") or [])
                kind = "cascade" if isinstance(exc, StructuredOutputError) else "fallback"
                reason = f"{kind}:{_why_failed(exc)}"
                continue
            usage = _usage(result, reason)
            usage["attempts"] += attempts
            return result.value, usage
        assert last is not None
        raise last


def step_error_usage(exc: ModelError) -> dict[str, Any]:
    """What a model step records when it answered from code: the error that sent it there,
    with the route (model ``code``) when routing chose code rather than a model failing."""
    return {"error_code": exc.code, **(exc.usage if isinstance(exc, RoutedToCode) else {})}


def _usage(result: StructuredResult[Any], reason: str) -> dict[str, Any]:
    return {
        "model": result.model_name,
        "route_reason": reason,
        "input_tokens": result.usage.input_tokens,
        "output_tokens": result.usage.output_tokens,
        "attempts": len(result.attempts),
    }
