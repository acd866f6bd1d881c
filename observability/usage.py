"""Per-call usage accounting: one ``UsageRecord`` per LLM call, collected by a callback handler.

Pass a ``UsageCollector`` in ``config={"callbacks": [collector]}`` (the worker does this for each
run); it reads the model from LangChain's ``ls_*`` metadata, tokens from ``usage_metadata`` (or
the provider's ``llm_output``), the graph node from ``langgraph_node``, and prices the call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from waypost.observability.pricing import price_usd
from waypost.runtime.settings import ModelPrice

__all__ = ["UsageCollector", "UsageRecord", "UsageTotals"]


@dataclass(frozen=True)
class UsageRecord:
    """One LLM call: model, tokens, latency and cost (``price_known=False`` when unpriced)."""

    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    usd: float
    price_known: bool
    node: str | None = None
    step: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class UsageTotals:
    """Sums over several calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    all_priced: bool = True

    def add(self, record: UsageRecord) -> UsageTotals:
        return UsageTotals(
            self.calls + 1,
            self.input_tokens + record.input_tokens,
            self.output_tokens + record.output_tokens,
            self.usd + record.usd,
            self.all_priced and record.price_known,
        )


@dataclass
class _Pending:
    model: str
    node: str | None
    started: float


def model_name_from_metadata(metadata: Mapping[str, Any] | None, fallback: str) -> str:
    """``provider:model`` from LangChain's ``ls_provider``/``ls_model_name`` metadata."""
    metadata = metadata or {}
    name = str(metadata.get("ls_model_name") or fallback)
    provider = metadata.get("ls_provider")
    if ":" in name or not provider:
        return name
    return f"{provider}:{name}"


def tokens_from_result(response: LLMResult) -> tuple[int, int]:
    """Input and output tokens of a result, from usage_metadata or the provider's llm_output."""
    inp = out = 0
    found = False
    for gens in response.generations:
        for gen in gens:
            usage = (
                getattr(gen.message, "usage_metadata", None)
                if isinstance(gen, ChatGeneration)
                else None
            )
            if usage:
                inp += int(usage.get("input_tokens", 0))
                out += int(usage.get("output_tokens", 0))
                found = True
    if not found and response.llm_output:
        usage = response.llm_output.get("token_usage") or response.llm_output.get("usage") or {}
        inp = int(usage.get("prompt_tokens", usage.get("input_tokens", 0)) or 0)
        out = int(usage.get("completion_tokens", usage.get("output_tokens", 0)) or 0)
    return inp, out


class UsageCollector(BaseCallbackHandler):
    """Records a ``UsageRecord`` per successful chat-model call (thread-safe)."""

    # Model and tool calls only: a sync handler that does not ignore chain events is handed
    # every node's start and end on a worker thread, for nothing.
    @property
    def ignore_chain(self) -> bool:
        return True

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True

    def __init__(
        self, *, prices: Mapping[str, ModelPrice] | None = None, step: str | None = None
    ) -> None:
        self.prices = dict(prices or {})
        self.step = step
        self.records: list[UsageRecord] = []
        self._pending: dict[UUID, _Pending] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(serialized, run_id, metadata)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start(serialized, run_id, metadata)

    def _start(
        self, serialized: dict[str, Any] | None, run_id: UUID, metadata: dict[str, Any] | None
    ) -> None:
        fallback = str((serialized or {}).get("name") or "unknown")
        node = (metadata or {}).get("langgraph_node")
        pending = _Pending(model_name_from_metadata(metadata, fallback), node, time.perf_counter())
        with self._lock:
            self._pending[run_id] = pending

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        inp, out = tokens_from_result(response)
        price = price_usd(pending.model, inp, out, self.prices)
        record = UsageRecord(
            model=pending.model,
            input_tokens=inp,
            output_tokens=out,
            latency_ms=(time.perf_counter() - pending.started) * 1000,
            usd=price.usd,
            price_known=price.known,
            node=pending.node,
            step=self.step,
        )
        with self._lock:
            self.records.append(record)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self._pending.pop(run_id, None)

    def totals(self) -> UsageTotals:
        """Sums over every record so far."""
        totals = UsageTotals()
        with self._lock:
            for record in self.records:
                totals = totals.add(record)
        return totals
