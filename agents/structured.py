"""Structured output with validation, bounded re-asks and model fallback.

The one call graph nodes use to get typed data from an LLM::

    result = invoke_structured(chain, RefundDecision, messages, max_reasks=2)
    result.value  # a validated RefundDecision

Each model is asked via ``with_structured_output(schema, include_raw=True)``. Output that fails
validation is sent back to the same model with the errors (up to ``max_reasks`` times); then the
next model in the chain is tried; then ``StructuredOutputError`` is raised with every attempt in
``details["attempts"]``, so callers can degrade (route to a human, use a safe default).

The calls are tagged ``nostream``: their JSON is the step's internal answer, not a message for
the user, so LangGraph's ``messages`` stream (what chat UIs render) leaves it out.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config
from pydantic import BaseModel
from waypost.agents._json_output import message_text, schema_name_and_json
from waypost.agents.resilience import (
    Attempt,
    ModelChain,
    NamedModel,
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
)
from waypost.runtime.errors import ModelError, StructuredOutputError
from waypost.runtime.settings import ModelSettings

__all__ = [
    "NOSTREAM_TAGS",
    "StepModels",
    "StructuredResult",
    "TokenUsage",
    "ainvoke_structured",
    "invoke_structured",
]

T = TypeVar("T", bound=BaseModel)
# LangGraph's ``TAG_NOSTREAM`` and the LangSmith spelling that Agent Chat UI documents
NOSTREAM_TAGS = ("nostream", "langsmith:nostream")
Schema = type[BaseModel] | dict[str, Any]
Messages = str | Sequence[BaseMessage]


@dataclass(frozen=True)
class StepModels:
    """The models one graph step may use, cheapest/preferred first, and its limits.

    ``None`` limits fall back to ``settings.models`` (timeout_s, max_retries, max_reasks).
    """

    primary: str = "local:qwen2.5-coder-0.5b"
    fallbacks: tuple[str, ...] = ()
    max_reasks: int | None = None
    timeout_s: float | None = None
    max_retries: int | None = None

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([self.primary, *self.fallbacks]))

    def policy(self, settings: ModelSettings) -> RetryPolicy:
        base = RetryPolicy.from_settings(settings)
        return RetryPolicy(
            timeout_s=self.timeout_s if self.timeout_s is not None else base.timeout_s,
            max_retries=self.max_retries if self.max_retries is not None else base.max_retries,
            backoff_s=base.backoff_s,
            max_backoff_s=base.max_backoff_s,
        )

    def reasks(self, settings: ModelSettings) -> int:
        return self.max_reasks if self.max_reasks is not None else settings.max_reasks

    def build(
        self,
        settings: ModelSettings,
        resolve: Callable[[str, ModelSettings], BaseChatModel] | None = None,
    ) -> ModelChain:
        """A ModelChain of these models; ``resolve`` defaults to ``registry.get_chat_model``."""
        if resolve is None:
            from waypost.agents.registry import get_chat_model

            resolve = get_chat_model
        models = [NamedModel(name, resolve(name, settings)) for name in self.names]
        return ModelChain(models, policy=self.policy(settings))


@dataclass(frozen=True)
class TokenUsage:
    """Tokens spent across every attempt, failed ones included."""

    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, message: BaseMessage | None) -> TokenUsage:
        usage = getattr(message, "usage_metadata", None) or {}
        return TokenUsage(
            self.input_tokens + int(usage.get("input_tokens", 0)),
            self.output_tokens + int(usage.get("output_tokens", 0)),
        )


@dataclass(frozen=True)
class StructuredResult(Generic[T]):
    """A validated value, the model that produced it, every attempt and the tokens used.

    ``raw`` is the final model message (its ``response_metadata`` has finish reason, timings).
    """

    value: T
    model_name: str
    attempts: list[Attempt] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    raw: BaseMessage | None = None


class _Run:
    """State shared by the sync and async loops: conversation, attempts, usage."""

    def __init__(self, schema: Schema, messages: Messages, max_reasks: int) -> None:
        self.schema = schema
        self.base = [HumanMessage(messages)] if isinstance(messages, str) else list(messages)
        self.max_reasks = max_reasks
        self.attempts: list[Attempt] = []
        self.usage = TokenUsage()
        self.raw: BaseMessage | None = None
        _, json_schema = schema_name_and_json(schema)
        self.schema_text = json.dumps(json_schema, separators=(",", ":"))

    def check(
        self, name: str, out: dict[str, Any], convo: list[BaseMessage], started: float
    ) -> Any | None:
        """The parsed value, or None after recording the failure and extending ``convo``."""
        raw = out.get("raw")
        self.usage = self.usage.add(raw)
        error = out.get("parsing_error")
        parsed = out.get("parsed")
        if error is None and parsed is not None:
            self.raw = raw
            return parsed
        reason = (
            str(error).split("\nFor troubleshooting")[0].strip()  # drop LangChain's doc link
            if error is not None
            else "the reply contained no structured output"
        )
        # The call itself was logged as a success: turn that entry into the validation failure.
        last = self.attempts.pop() if self.attempts and self.attempts[-1].model == name else None
        number = last.number if last else 1
        latency = last.latency_ms if last else (time.perf_counter() - started) * 1000
        self.attempts.append(
            Attempt(name, number, latency, reason, StructuredOutputError.code, "validation")
        )
        convo.append(AIMessage(content=_reply_text(raw)))
        convo.append(
            HumanMessage(
                f"Your reply did not match the required JSON schema: {reason}\n"
                f"Reply again with only a JSON object matching this schema: {self.schema_text}"
            )
        )
        return None

    def reask(self, convo: list[BaseMessage], error: StructuredOutputError) -> None:
        """Ask again after a reply the provider SDK could not parse (no reply text to show)."""
        reason = error.message.split("\nFor further information")[0].strip()
        convo.append(
            HumanMessage(
                f"Your previous reply was not valid JSON for the required schema ({reason}).\n"
                f"Reply again with only a JSON object matching this schema: {self.schema_text}"
            )
        )

    def result(self, value: Any, name: str) -> StructuredResult[Any]:
        return StructuredResult(value, name, self.attempts, self.usage, self.raw)

    def failure(self, names: list[str]) -> StructuredOutputError:
        return StructuredOutputError(
            f"no model produced valid {schema_name_and_json(self.schema)[0]} output "
            f"(tried {', '.join(names)}; {len(self.attempts)} attempts)",
            details={"attempts": [a.to_dict() for a in self.attempts]},
        )


def _reply_text(raw: Any) -> str:
    if not isinstance(raw, BaseMessage):
        return ""
    text = message_text(raw)
    calls = getattr(raw, "tool_calls", None)
    if not text and calls:  # providers that return structured output as a tool call
        return json.dumps(calls[0]["args"])
    return text


def _as_chain(models: ModelChain | Sequence[NamedModel | tuple[str, Any]]) -> ModelChain:
    return models if isinstance(models, ModelChain) else ModelChain(models)


def _unstreamed(config: RunnableConfig | None) -> RunnableConfig:
    """``config`` (with what the calling node passes down) plus the ``nostream`` tags."""
    full = ensure_config(config)
    tags = list(full.get("tags") or [])
    full["tags"] = [*tags, *(t for t in NOSTREAM_TAGS if t not in tags)]
    return full


@overload
def invoke_structured(
    models: ModelChain | Sequence[NamedModel | tuple[str, Any]],
    schema: type[T],
    messages: Messages,
    *,
    max_reasks: int = 2,
    config: RunnableConfig | None = None,
) -> StructuredResult[T]: ...
@overload
def invoke_structured(
    models: ModelChain | Sequence[NamedModel | tuple[str, Any]],
    schema: dict[str, Any],
    messages: Messages,
    *,
    max_reasks: int = 2,
    config: RunnableConfig | None = None,
) -> StructuredResult[Any]: ...
def invoke_structured(
    models: ModelChain | Sequence[NamedModel | tuple[str, Any]],
    schema: Schema,
    messages: Messages,
    *,
    max_reasks: int = 2,
    config: RunnableConfig | None = None,
) -> StructuredResult[Any]:
    """Typed output from the first model that gets it right; StructuredOutputError otherwise.

    Provider errors and timeouts are retried per the chain's policy and then fall through to the
    next model, like validation failures do after ``max_reasks`` re-asks.
    """
    chain = _as_chain(models)
    run = _Run(schema, messages, max_reasks)
    config = _unstreamed(config)
    for named in chain.models:
        structured = named.model.with_structured_output(schema, include_raw=True)  # type: ignore[attr-defined]
        convo = list(run.base)
        for _ in range(max_reasks + 1):
            started = time.perf_counter()
            try:
                out = call_with_retries(
                    functools.partial(structured.invoke, list(convo), config),
                    model=named.name,
                    policy=chain.policy,
                    sleep=chain.sleep,
                    attempts=run.attempts,
                )
            except StructuredOutputError as exc:  # the SDK refused the reply's JSON: re-ask
                run.reask(convo, exc)
                continue
            except ModelError:
                break
            value = run.check(named.name, out, convo, started)
            if value is not None:
                return run.result(value, named.name)
    raise run.failure(chain.names)


async def ainvoke_structured(
    models: ModelChain | Sequence[NamedModel | tuple[str, Any]],
    schema: Schema,
    messages: Messages,
    *,
    max_reasks: int = 2,
    config: RunnableConfig | None = None,
) -> StructuredResult[Any]:
    """Async ``invoke_structured`` (same rules; timeouts cancel the call)."""
    chain = _as_chain(models)
    run = _Run(schema, messages, max_reasks)
    config = _unstreamed(config)
    for named in chain.models:
        structured = named.model.with_structured_output(schema, include_raw=True)  # type: ignore[attr-defined]
        convo = list(run.base)
        for _ in range(max_reasks + 1):
            started = time.perf_counter()
            try:
                out = await acall_with_retries(
                    functools.partial(structured.ainvoke, list(convo), config),
                    model=named.name,
                    policy=chain.policy,
                    sleep=chain.asleep,
                    attempts=run.attempts,
                )
            except StructuredOutputError as exc:  # the SDK refused the reply's JSON: re-ask
                run.reask(convo, exc)
                continue
            except ModelError:
                break
            value = run.check(named.name, out, convo, started)
            if value is not None:
                return run.result(value, named.name)
    raise run.failure(chain.names)
