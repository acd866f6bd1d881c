"""The Langfuse LangChain handler, plus our own model name and ``cost_details`` per generation.

The SDK's handler sends usage but no cost (Langfuse would infer one from its own price list,
or none for local and self-hosted models). Just before the SDK ends a generation we set the
model name, ``usage_details`` and ``cost_details`` computed by the run's ``CallPricer`` - the
same object that writes the ledger row, so the trace and the ledger agree to the cent.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from langfuse.langchain import CallbackHandler
from langfuse.types import TraceContext
from waypost.observability.ledger import CallPricer, PricedCall

__all__ = ["PricedCallbackHandler", "generation_details"]

_log = logging.getLogger(__name__)


def generation_details(priced: PricedCall) -> dict[str, Any]:
    """The ``update()`` arguments of a Langfuse generation for a priced call."""
    details: dict[str, Any] = {
        "model": priced.model,
        "usage_details": {
            "input": priced.input_tokens,
            "output": priced.output_tokens,
            "total": priced.input_tokens + priced.output_tokens,
        },
        "metadata": {"price_known": priced.price_known},
    }
    if priced.price_known:  # an unknown price is flagged, not reported as free
        details["cost_details"] = {
            "input": priced.input_usd,
            "output": priced.output_usd,
            "total": priced.usd,
        }
    return details


# LangChain's composition plumbing inside a step (structured output = sequence, parallel,
# lambdas, fallbacks): ~half of all observations, each serialized and masked, and noise in the
# trace. Their children are attached to the nearest visible ancestor instead.
_PLUMBING = (
    "RunnableSequence",
    "RunnableParallel",
    "RunnableLambda",
    "RunnableAssign",
    "RunnableWithFallbacks",
    "RunnablePassthrough",
    "RunnablePick",
)


class PricedCallbackHandler(CallbackHandler):
    """``langfuse.langchain.CallbackHandler`` that prices each generation with ``pricer``.

    With ``hide_plumbing`` (default) LangChain's internal runnables are not sent; nodes,
    generations, tools and retrievers are.
    """

    def __init__(
        self,
        *,
        public_key: str,
        trace_context: TraceContext,
        pricer: CallPricer | None = None,
        hide_plumbing: bool = True,
    ) -> None:
        super().__init__(public_key=public_key, trace_context=trace_context)
        self._pricer = pricer
        self._hide_plumbing = hide_plumbing
        self._hidden: dict[UUID, UUID | None] = {}  # hidden run -> its parent
        self._llm_starts: dict[UUID, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}

    def _visible(self, parent_run_id: UUID | None) -> UUID | None:
        while parent_run_id is not None and parent_run_id in self._hidden:
            parent_run_id = self._hidden[parent_run_id]
        return parent_run_id

    # -- chains: hide plumbing, re-parent the rest ---------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        parent = self._visible(parent_run_id)
        name = self.get_langchain_run_name(serialized, **kwargs)
        if self._hide_plumbing and parent is not None and name.startswith(_PLUMBING):
            self._hidden[run_id] = parent
            return None
        return super().on_chain_start(
            serialized, inputs, run_id=run_id, parent_run_id=parent, **kwargs
        )

    def on_chain_end(
        self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> Any:
        if run_id in self._hidden:
            self._hidden.pop(run_id)
            return None
        return super().on_chain_end(
            outputs, run_id=run_id, parent_run_id=self._visible(parent_run_id), **kwargs
        )

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if run_id in self._hidden:
            self._hidden.pop(run_id)
            return
        super().on_chain_error(
            error, run_id=run_id, parent_run_id=self._visible(parent_run_id), **kwargs
        )

    # -- generations: price them ---------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        self._llm_starts[run_id] = (serialized, metadata)
        return super().on_chat_model_start(
            serialized,
            messages,
            run_id=run_id,
            parent_run_id=self._visible(parent_run_id),
            metadata=metadata,
            **kwargs,
        )

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        self._llm_starts[run_id] = (serialized, metadata)
        return super().on_llm_start(
            serialized,
            prompts,
            run_id=run_id,
            parent_run_id=self._visible(parent_run_id),
            metadata=metadata,
            **kwargs,
        )

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        start = self._llm_starts.pop(run_id, None)
        if self._pricer is not None and start is not None:
            try:
                priced = self._pricer.price_call(start[0], start[1], response)
                # the SDK keeps open observations by LangChain run id; it ends this one in
                # super().on_llm_end, so the update has to come first
                generation = self._runs.get(run_id)
                if generation is not None:
                    generation.update(**generation_details(priced))
            except Exception:  # tracing never breaks a run
                _log.exception("could not price a Langfuse generation")
        return super().on_llm_end(
            response, run_id=run_id, parent_run_id=self._visible(parent_run_id), **kwargs
        )

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> Any:
        self._llm_starts.pop(run_id, None)
        return super().on_llm_error(
            error, run_id=run_id, parent_run_id=self._visible(parent_run_id), **kwargs
        )


def _reparented(name: str) -> Any:
    """A callback that forwards to the SDK with ``parent_run_id`` past hidden runs."""
    sdk_method = getattr(CallbackHandler, name)

    def method(self: PricedCallbackHandler, *args: Any, **kwargs: Any) -> Any:
        kwargs["parent_run_id"] = self._visible(kwargs.get("parent_run_id"))
        return sdk_method(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = sdk_method.__doc__
    return method


for _name in (
    "on_tool_start",
    "on_tool_end",
    "on_tool_error",
    "on_retriever_start",
    "on_retriever_end",
    "on_retriever_error",
):
    setattr(PricedCallbackHandler, _name, _reparented(_name))
