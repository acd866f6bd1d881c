"""Usage accounting: one ``UsageCollector`` per run counts every LLM and tool call.

It is the one callback that feeds everything that reports usage, so they can never disagree:

- ``records``/``totals()``: per-call tokens, USD and latency (the run's heartbeat and final row,
  ``GET /runs/{id}``, eval scorecards);
- ``sink``: one ``LedgerEvent`` per LLM and tool call, ok or failed (the usage ledger behind
  ``waypost runs show``, ``/metrics`` and quotas);
- ``price_call``: the Langfuse handler prices generations through it, with the same model
  name, tokens and price table as the ledger rows.

Model names come from LangChain's ``ls_provider``/``ls_model_name`` metadata, tokens from
``usage_metadata`` (or the provider's ``llm_output``), the graph node from ``langgraph_node``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from waypost.observability.ledger import LedgerEvent, LedgerSink, PricedCall
from waypost.observability.pricing import price_usd
from waypost.runtime.settings import ModelPrice

__all__ = [
    "ModelCallsOnly",
    "UsageCollector",
    "UsageRecord",
    "UsageTotals",
    "error_code_of",
    "model_name_from_metadata",
    "tokens_from_result",
]


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

    def as_run_columns(self) -> dict[str, Any]:
        """The ``runs`` row's usage columns."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "usd": round(self.usd, 8),
        }


@dataclass
class _Pending:
    model: str
    node: str | None
    started: float
    named: bool  # the model's name came from LangChain's ls_* metadata


def _response_model(response: LLMResult) -> str | None:
    """The model a provider says served the call (``response_metadata``), if any."""
    for gens in response.generations:
        for gen in gens:
            meta = getattr(getattr(gen, "message", None), "response_metadata", None) or {}
            name = meta.get("model_name") or meta.get("model")
            if name:
                return str(name)
    return None


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


def error_code_of(error: BaseException) -> str:
    """The stable ``code`` of a Waypost error, else the exception's class name."""
    code = getattr(error, "code", None)
    return str(code) if isinstance(code, str) and code else type(error).__name__


class ModelCallsOnly(BaseCallbackHandler):
    """A handler of model and tool calls: one that does not ignore chain events is handed every
    node's start and end, for nothing."""

    @property
    def ignore_chain(self) -> bool:
        return True

    @property
    def ignore_retriever(self) -> bool:
        return True

    @property
    def ignore_custom_event(self) -> bool:
        return True


class UsageCollector(ModelCallsOnly):
    """Records every LLM call (and, with a ``sink``, every LLM and tool call) of a run.

    Thread-safe: a graph's nodes may call models from worker threads.
    """

    def __init__(
        self,
        *,
        prices: Mapping[str, ModelPrice] | None = None,
        sink: LedgerSink | None = None,
        step: str | None = None,
    ) -> None:
        self.prices = dict(prices or {})
        self.sink = sink
        self.step = step
        self.records: list[UsageRecord] = []
        self._pending: dict[UUID, _Pending] = {}
        self._tools: dict[UUID, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    # -- pricing (shared with the Langfuse handler) ----------------------------------------

    def priced(self, model: str, input_tokens: int, output_tokens: int) -> PricedCall:
        """Model, tokens and the USD split of a call, from this collector's price table."""
        price = price_usd(model, input_tokens, output_tokens, self.prices).price
        if price is None and ":" not in model:  # a bare provider model name, e.g. gpt-4o-mini
            for provider in ("openai", "anthropic"):
                price = price_usd(f"{provider}:{model}", 0, 0, self.prices).price
                if price is not None:
                    break
        if price is None:
            return PricedCall(model, input_tokens, output_tokens, 0.0, 0.0, price_known=False)
        return PricedCall(
            model,
            input_tokens,
            output_tokens,
            input_tokens * price.input_per_mtok / 1e6,
            output_tokens * price.output_per_mtok / 1e6,
            price_known=True,
        )

    def price_call(
        self, serialized: dict[str, Any] | None, metadata: dict[str, Any] | None, response: Any
    ) -> PricedCall:
        """The ``CallPricer`` protocol: one LLM result, priced as the ledger will record it."""
        fallback = str((serialized or {}).get("name") or "unknown")
        model = model_name_from_metadata(metadata, fallback)
        return self.priced(model, *tokens_from_result(response))

    # -- LLM calls -------------------------------------------------------------------------

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
        named = bool((metadata or {}).get("ls_model_name"))
        model = model_name_from_metadata(metadata, fallback)
        pending = _Pending(model, node, time.perf_counter(), named)
        with self._lock:
            self._pending[run_id] = pending

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        model = pending.model if pending.named else _response_model(response) or pending.model
        priced = self.priced(model, *tokens_from_result(response))
        record = UsageRecord(
            model=model,
            input_tokens=priced.input_tokens,
            output_tokens=priced.output_tokens,
            latency_ms=(time.perf_counter() - pending.started) * 1000,
            usd=priced.usd,
            price_known=priced.price_known,
            node=pending.node,
            step=self.step,
        )
        with self._lock:
            self.records.append(record)
        if self.sink is not None:
            self.sink.record(
                LedgerEvent(
                    kind="llm",
                    name=record.model,
                    node=record.node or "",
                    input_tokens=record.input_tokens,
                    output_tokens=record.output_tokens,
                    usd=record.usd,
                    price_known=record.price_known,
                    latency_ms=record.latency_ms,
                )
            )

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            pending = self._pending.pop(run_id, None)
        if pending is None or self.sink is None:
            return
        self.sink.record(
            LedgerEvent(
                kind="llm",
                name=pending.model,
                node=pending.node or "",
                price_known=price_usd(pending.model, 0, 0, self.prices).known,
                latency_ms=(time.perf_counter() - pending.started) * 1000,
                status="error",
                error_code=error_code_of(error),
            )
        )

    # -- tool calls ------------------------------------------------------------------------

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = str(kwargs.get("name") or (serialized or {}).get("name") or "tool")
        node = str((metadata or {}).get("langgraph_node") or "")
        with self._lock:
            self._tools[run_id] = (name, node, time.perf_counter())

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        error_code = None
        if isinstance(output, ToolMessage) and output.status == "error":
            artifact = output.artifact if isinstance(output.artifact, dict) else {}
            error_code = str(artifact.get("error_code") or "tool_error")
        self._tool_done(run_id, error_code)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._tool_done(run_id, error_code_of(error))

    def _tool_done(self, run_id: UUID, error_code: str | None) -> None:
        with self._lock:
            started = self._tools.pop(run_id, None)
        if started is None or self.sink is None:
            return
        name, node, t0 = started
        self.sink.record(
            LedgerEvent(
                kind="tool",
                name=name,
                node=node,
                latency_ms=(time.perf_counter() - t0) * 1000,
                status="error" if error_code else "ok",
                error_code=error_code,
            )
        )

    # -- totals ----------------------------------------------------------------------------

    def totals(self) -> UsageTotals:
        """Sums over every LLM call recorded so far."""
        totals = UsageTotals()
        with self._lock:
            for record in self.records:
                totals = totals.add(record)
        return totals
