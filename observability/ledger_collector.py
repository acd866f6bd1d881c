"""``LedgerCollector``: a ``UsageCollector`` that also sends every LLM and tool call to a ledger.

It is the callback a run carries in ``config["callbacks"]``: successful LLM calls become
``UsageRecord``s (as in ``UsageCollector``) *and* ledger events; failed LLM calls and every
tool call (``on_tool_start``/``end``/``error``) become ledger events with status and error code.
It also implements ``runtime.ledger.CallPricer``, so the Langfuse handler prices generations
with exactly the same model name, tokens and price table as the ledger rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from langchain_core.messages import ToolMessage
from langchain_core.outputs import LLMResult
from waypost.observability.ledger import LedgerEvent, LedgerSink, PricedCall
from waypost.observability.pricing import price_usd
from waypost.observability.usage import (
    UsageCollector,
    UsageRecord,
    model_name_from_metadata,
    tokens_from_result,
)
from waypost.runtime.settings import ModelPrice

__all__ = ["LedgerCollector", "error_code_of"]


def error_code_of(error: BaseException) -> str:
    """The stable ``code`` of a Waypost error, else the exception's class name."""
    code = getattr(error, "code", None)
    return str(code) if isinstance(code, str) and code else type(error).__name__


class LedgerCollector(UsageCollector):
    """Records usage per call and forwards one ``LedgerEvent`` per LLM/tool call to ``sink``."""

    def __init__(
        self,
        sink: LedgerSink,
        *,
        prices: Mapping[str, ModelPrice] | None = None,
        step: str | None = None,
    ) -> None:
        super().__init__(prices=prices, step=step)
        self.sink = sink
        self._tools: dict[UUID, tuple[str, str, float]] = {}

    # -- pricing (shared with the Langfuse handler) ----------------------------------------

    def price_call(
        self, serialized: dict[str, Any] | None, metadata: dict[str, Any] | None, response: Any
    ) -> PricedCall:
        """Model, tokens and USD split of one LLM result, as the ledger will record it."""
        fallback = str((serialized or {}).get("name") or "unknown")
        model = model_name_from_metadata(metadata, fallback)
        return self._priced(model, *tokens_from_result(response))

    def _priced(self, model: str, inp: int, out: int) -> PricedCall:
        price = price_usd(model, inp, out, self.prices).price
        if price is None:
            return PricedCall(model, inp, out, 0.0, 0.0, price_known=False)
        return PricedCall(
            model,
            inp,
            out,
            inp * price.input_per_mtok / 1e6,
            out * price.output_per_mtok / 1e6,
            price_known=True,
        )

    # -- LLM calls -------------------------------------------------------------------------

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        priced = self._priced(pending.model, *tokens_from_result(response))
        record = UsageRecord(
            model=pending.model,
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
        if pending is None:
            return
        known = price_usd(pending.model, 0, 0, self.prices).known
        self.sink.record(
            LedgerEvent(
                kind="llm",
                name=pending.model,
                node=pending.node or "",
                price_known=known,
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
        if started is None:
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
