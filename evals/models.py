"""Which models answer the workflow's judgement steps in an eval run.

``scripted:gold`` and ``scripted:naive`` are per-case oracles (the domain's, through its
``EvalAdapter``); any other
name (``local:...``, ``openai:...``) goes through the real model layer (``agents.registry``,
structured output with re-asks and fallbacks), shared across cases so weights load once.
With a routing table (``--routing``/``--sweep``) each step gets its routed model, the name
being the default for steps the table leaves out.
Local models run at most as many cases at once as the loaded model has slots
(``models.parallel_slots``): llama.cpp batches that many calls, and more would only queue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from waypost.agents.routing import RoutingTable
from waypost.evals.dataset import EvalCase
from waypost.graphs.kit import StepModelsCaller, StructuredCall
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import Settings

if TYPE_CHECKING:
    from waypost.evals.adapter import EvalAdapter

__all__ = ["ORACLES", "ModelSetup", "OracleError", "model_setup"]

ORACLES = ("scripted:gold", "scripted:naive")
"""Model names answered by the domain's oracles (``EvalAdapter.oracles``)."""


class OracleError(RuntimeError):
    """An oracle's answer does not fit the workflow's schema (a harness problem, not a model's)."""


@dataclass
class ModelSetup:
    """Per-case access to the models of one eval run."""

    name: str
    settings: Settings
    chat_factory: Callable[[str], BaseChatModel] | None = None
    routing: RoutingTable | None = None
    workflow: str = "*"  # whose routes apply
    _shared: StructuredCall | None = None
    _chat: BaseChatModel | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_oracle(self) -> bool:
        return self.name in ORACLES

    @property
    def label(self) -> str:
        """What the scorecard names: the model, or the compact routing it ran with."""
        if not self.routing:
            return self.name
        return f"routing:{self.routing.label(self.workflow)}"

    def _all_models(self) -> set[str]:
        return {self.name} | (self.routing.model_names() if self.routing else set())

    @property
    def max_concurrency(self) -> int | None:
        """None: no limit beyond the runner's; a local model's slot count (more would queue)."""
        local = any(n.startswith("local:") for n in self._all_models())
        return self.settings.models.parallel_slots if local else None

    def structured(
        self, case: EvalCase, initial_db: Mapping[str, Any], adapter: EvalAdapter
    ) -> StructuredCall:
        """The ``structured(step, schema, messages)`` callable for ``case``: the domain's
        oracle for ``scripted:*`` names, else this model for every step."""
        if self.is_oracle:
            oracle = adapter.oracles.get(self.name)
            if oracle is None:
                raise ConfigError(f"the {adapter.domain} domain has no oracle {self.name!r}")
            return oracle(case, initial_db)
        with self._lock:
            if self._shared is None:
                self._shared = StepModelsCaller(
                    self.settings.model_copy(
                        update={
                            "models": self.settings.models.model_copy(update={"default": self.name})
                        }
                    ),
                    model_factory=self.chat_factory,
                    workflow=self.workflow,
                    routing=self.routing or RoutingTable(),
                )
            return self._shared

    def chat_model(self) -> BaseChatModel:
        """A tool-calling chat model (for agent baselines); oracles have none."""
        if self.is_oracle:
            raise ConfigError(
                f"{self.name} answers workflow steps only; the ReAct baseline "
                "needs a chat model (local:..., openai:...)"
            )
        name = self.name
        if self.routing:  # a tool-calling agent is one step, "agent"
            name = self.routing.resolve(self.workflow, "agent", self.name).route.model
        with self._lock:
            if self._chat is None:
                if self.chat_factory is not None:
                    self._chat = self.chat_factory(name)
                else:
                    from waypost.agents.registry import get_chat_model

                    self._chat = get_chat_model(name, self.settings.models)
            return self._chat

    def addendum(self, case: EvalCase, reply: str, adapter: EvalAdapter) -> str | None:
        """Facts the oracle's reply model adds (None for real models: their reply stands)."""
        if not self.is_oracle or adapter.oracle_addendum is None:
            return None
        return adapter.oracle_addendum(case, reply)


def model_setup(
    name: str | None,
    settings: Settings,
    chat_factory: Callable[[str], BaseChatModel] | None = None,
    *,
    routing: RoutingTable | None = None,
    workflow: str = "*",
) -> ModelSetup:
    """The setup for ``--model NAME`` (default: the configured default model), routed by
    ``routing`` when given (an oracle name answers every step and takes no routing)."""
    name = name or settings.models.default
    if routing and name in ORACLES:
        raise ConfigError(f"{name} answers every step from the case; it takes no --routing")
    if chat_factory is None:
        _check_local_weights(routing, name, settings)
    return ModelSetup(
        name=name,
        settings=settings,
        chat_factory=chat_factory,
        routing=routing,
        workflow=workflow,
    )


def _check_local_weights(routing: RoutingTable | None, name: str, settings: Settings) -> None:
    """Refuse at once a local model whose weights are not installed (every case would only
    degrade to code, and a long eval would measure nothing)."""
    from waypost.agents.local.weights import LOCAL_MODELS, weights_status

    names = {name} | (routing.model_names() if routing else set())
    for model in sorted(n for n in names if n.startswith("local:")):
        spec = LOCAL_MODELS.get(model.removeprefix("local:"))
        if spec is None:
            raise ConfigError(f"unknown local model {model!r}; known: {sorted(LOCAL_MODELS)}")
        status = weights_status(spec, settings.models.cache_dir)
        if not (status.assembled or status.parts_installed):
            raise ConfigError(f"{model} is not installed: {spec.install_hint}")
