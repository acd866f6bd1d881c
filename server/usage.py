"""Per-run token and cost accounting from LangChain callbacks (every chat model reports here).

The executor attaches one ``UsageTracker`` per run; the heartbeat and the final update copy its
totals to the ``runs`` row, so ``GET /runs/{id}`` shows usage while the run is still going.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.outputs import LLMResult

__all__ = ["Pricer", "UsageTracker"]

Pricer = Callable[[str, int, int], float]  # (model name, input tokens, output tokens) -> USD


class UsageTracker(AsyncCallbackHandler):
    """Sums ``usage_metadata`` of every LLM result in the run; prices it when given a pricer."""

    @property
    def ignore_chain(self) -> bool:  # LLM results only: skip every node's start/end events
        return True

    def __init__(self, pricer: Pricer | None = None) -> None:
        self.pricer = pricer
        self.input_tokens = 0
        self.output_tokens = 0
        self.usd = 0.0

    async def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        for generations in response.generations:
            for gen in generations:
                message = getattr(gen, "message", None)
                usage = getattr(message, "usage_metadata", None) or {}
                tokens_in = int(usage.get("input_tokens", 0) or 0)
                tokens_out = int(usage.get("output_tokens", 0) or 0)
                self.input_tokens += tokens_in
                self.output_tokens += tokens_out
                if self.pricer is not None and (tokens_in or tokens_out):
                    meta = getattr(message, "response_metadata", None) or {}
                    model = str(meta.get("model_name") or meta.get("model") or "")
                    self.usd += self.pricer(model, tokens_in, tokens_out)

    def totals(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "usd": round(self.usd, 8),
        }
