"""Which models answer the workflow's judgement steps in an eval run.

``scripted:gold`` and ``scripted:naive`` are per-case oracles (``evals.oracle``); any other
name (``local:...``, ``openai:...``) goes through the real model layer (``agents.registry``,
structured output with re-asks and fallbacks), shared across cases so weights load once.
Local models run at most as many cases at once as the loaded model has slots
(``models.parallel_slots``): llama.cpp batches that many calls, and more would only queue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from waypost.domains.retail.graph import StructuredCall
from waypost.domains.retail.workflow import make_structured_call
from waypost.evals.dataset import EvalCase
from waypost.evals.oracle import GoldOracle, oracle_addendum
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import Settings

__all__ = ["ORACLES", "ModelSetup", "model_setup"]

ORACLES = ("scripted:gold", "scripted:naive")


@dataclass
class ModelSetup:
    """Per-case access to the models of one eval run."""

    name: str
    settings: Settings
    chat_factory: Callable[[str], BaseChatModel] | None = None
    _shared: StructuredCall | None = None
    _chat: BaseChatModel | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_oracle(self) -> bool:
        return self.name in ORACLES

    @property
    def max_concurrency(self) -> int | None:
        """None: no limit beyond the runner's; a local model's slot count (more would queue)."""
        return self.settings.models.parallel_slots if self.name.startswith("local:") else None

    def structured(self, case: EvalCase, initial_db: Mapping[str, Any]) -> StructuredCall:
        """The ``structured(step, schema, messages)`` callable for ``case``."""
        if self.is_oracle:
            return GoldOracle(case, initial_db, naive=self.name == "scripted:naive")
        with self._lock:
            if self._shared is None:
                names = (self.name,)
                self._shared = make_structured_call(
                    self.settings,
                    model_factory=self.chat_factory,
                    step_models={"intake": names, "plan": names},
                )
            return self._shared

    def chat_model(self) -> BaseChatModel:
        """A tool-calling chat model (for agent baselines); oracles have none."""
        if self.is_oracle:
            raise ConfigError(
                f"{self.name} answers workflow steps only; the ReAct baseline "
                "needs a chat model (local:..., openai:...)"
            )
        with self._lock:
            if self._chat is None:
                if self.chat_factory is not None:
                    self._chat = self.chat_factory(self.name)
                else:
                    from waypost.agents.registry import get_chat_model

                    self._chat = get_chat_model(self.name, self.settings.models)
            return self._chat

    def addendum(self, case: EvalCase, reply: str) -> str | None:
        """Facts the oracle's reply model adds (None for real models: their reply stands)."""
        return oracle_addendum(case, reply) if self.is_oracle else None


def model_setup(
    name: str | None, settings: Settings, chat_factory: Callable[[str], BaseChatModel] | None = None
) -> ModelSetup:
    """The setup for ``--model NAME`` (default: the configured default model)."""
    return ModelSetup(
        name=name or settings.models.default, settings=settings, chat_factory=chat_factory
    )
