"""Timeouts, bounded retries and fallback chains around chat models.

Provider SDKs are built with ``max_retries=0``: retrying happens here, once, with the same rules
for every provider. Exceptions are mapped onto ``runtime.errors``: timeouts -> ``ModelTimeout``,
HTTP 408/409/429/5xx and connection errors -> retryable ``ProviderError``, other 4xx ->
non-retryable ``ProviderError``. A non-retryable error (or retries exhausted) moves on to the next
model in the chain.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.runnables import Runnable, RunnableConfig
from waypost.runtime.errors import (
    ModelError,
    ModelTimeout,
    ProviderError,
    QuotaExceeded,
    StructuredOutputError,
    WaypostSignal,
)
from waypost.runtime.settings import ModelSettings

__all__ = [
    "Attempt",
    "ChainResult",
    "ModelChain",
    "NamedModel",
    "RetryPolicy",
    "acall_with_retries",
    "call_with_retries",
    "to_model_error",
]

T = TypeVar("T")
_RETRYABLE_STATUS = {408, 409, 425, 429}


@dataclass(frozen=True)
class RetryPolicy:
    """Per-call timeout and bounded exponential backoff: ``backoff_s * 2**n``, capped."""

    timeout_s: float | None = 120.0
    max_retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> RetryPolicy:
        return cls(settings.timeout_s, settings.max_retries, settings.retry_backoff_s)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return float(min(self.backoff_s * (2**retry), self.max_backoff_s))


@dataclass(frozen=True)
class Attempt:
    """One call of one model (``number`` counts from 1 per model); ``error`` None = succeeded."""

    model: str
    number: int
    latency_ms: float
    error: str | None = None
    code: str | None = None
    kind: str = "call"  # "call", or "validation" for structured-output re-asks

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def to_model_error(exc: BaseException, model: str) -> ModelError:
    """Map any provider/SDK exception onto the ModelError hierarchy (retryable flag included)."""
    if isinstance(exc, ModelError):
        return exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    where = f"{model}: {type(exc).__name__}: {exc}"
    if isinstance(exc, TimeoutError) or any("Timeout" in n for n in names):
        return ModelTimeout(f"{model} timed out ({exc or type(exc).__name__})")
    if isinstance(exc, OutputParserException) or "ValidationError" in names:
        # the provider SDK parsed the reply against the schema itself and refused it
        return StructuredOutputError(f"{model} returned unparseable output: {exc}")
    status = _status_of(exc)
    if status is not None:
        retryable = status in _RETRYABLE_STATUS or status >= 500
        return ProviderError(where, status=status, retryable=retryable)
    if names & {
        "APIConnectionError",
        "ConnectError",
        "ConnectionError",
        "RemoteProtocolError",
        "ReadError",
        "WriteError",
        "TransportError",
    }:
        return ProviderError(where, retryable=True)
    return ProviderError(where, retryable=False)


def _reraise_untouchable(exc: BaseException) -> None:
    """Control-flow signals (approvals, LangGraph interrupts) and a tenant's quota refusal
    pass through untouched: no retry, no fallback model, no degraded answer."""
    if isinstance(exc, WaypostSignal | QuotaExceeded) or any(
        c.__name__ == "GraphBubbleUp" for c in type(exc).__mro__
    ):
        raise exc


def _should_retry(error: ModelError, model: str) -> bool:
    """Retryable errors are retried, except a local model's timeout: the timed-out call cannot
    be stopped and keeps its slot busy, so a retry would compete with it for the same cores."""
    if isinstance(error, ModelTimeout) and model.startswith("local:"):
        return False
    return error.retryable


def _run_with_timeout(fn: Callable[[], T], timeout_s: float | None) -> T:
    """Run ``fn`` in a daemon thread (with this context) and give up after ``timeout_s``.

    A timed-out call cannot be killed; its thread finishes in the background and its result is
    dropped. Daemon threads never block interpreter exit.
    """
    if timeout_s is None:
        return fn()
    ctx = contextvars.copy_context()
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = ctx.run(fn)
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, daemon=True, name="model-call").start()
    if not done.wait(timeout_s):
        raise ModelTimeout(f"no answer within {timeout_s:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def call_with_retries(
    fn: Callable[[], T],
    *,
    model: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    attempts: list[Attempt] | None = None,
) -> T:
    """Call ``fn`` with the policy's timeout, retrying retryable errors at most max_retries times.

    Every attempt is appended to ``attempts`` when given. Raises the mapped ModelError.
    """
    for number in range(policy.max_retries + 1):
        started = time.perf_counter()
        try:
            result = _run_with_timeout(fn, policy.timeout_s)
        except Exception as exc:
            _reraise_untouchable(exc)
            error = to_model_error(exc, model)
            _log(attempts, model, started, error)
            if not _should_retry(error, model) or number == policy.max_retries:
                _raise(error, exc)
            sleep(policy.delay(number))
            continue
        _log(attempts, model, started, None)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


async def acall_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    model: str,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    attempts: list[Attempt] | None = None,
) -> T:
    """Async ``call_with_retries``: the call is cancelled when it exceeds the timeout."""
    for number in range(policy.max_retries + 1):
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(fn(), policy.timeout_s)
        except Exception as exc:
            _reraise_untouchable(exc)
            error = to_model_error(exc, model)
            _log(attempts, model, started, error)
            if not error.retryable or number == policy.max_retries:
                _raise(error, exc)
            await sleep(policy.delay(number))
            continue
        _log(attempts, model, started, None)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _raise(error: ModelError, cause: Exception) -> None:
    if error is cause:
        raise error
    raise error from cause


def _log(
    attempts: list[Attempt] | None,
    model: str,
    started: float,
    error: ModelError | None,
) -> None:
    if attempts is not None:
        latency = (time.perf_counter() - started) * 1000
        seq = sum(1 for a in attempts if a.model == model) + 1  # counts re-asks too
        message, code = (error.message, error.code) if error else (None, None)
        attempts.append(Attempt(model, seq, latency, message, code))


@dataclass(frozen=True)
class NamedModel:
    """A chat model (or any runnable built from one) with its registry name."""

    name: str
    model: Runnable[Any, Any]


@dataclass(frozen=True)
class ChainResult(Generic[T]):
    """The output, which model produced it, and every attempt made on the way."""

    output: T
    model_name: str
    attempts: list[Attempt] = field(default_factory=list)


class ModelChain:
    """``primary -> fallbacks``: each model is retried per the policy, then the next one is tried.

    Example::

        chain = ModelChain([NamedModel("openai:gpt-4o-mini", gpt), NamedModel("local:...", local)])
        reply = chain.bind_tools([lookup_order]).invoke(messages)
    """

    def __init__(
        self,
        models: Sequence[NamedModel | tuple[str, Runnable[Any, Any]]],
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not models:
            raise ValueError("a ModelChain needs at least one model")
        self.models = [m if isinstance(m, NamedModel) else NamedModel(*m) for m in models]
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.asleep = asleep

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def map(self, fn: Callable[[Runnable[Any, Any]], Runnable[Any, Any]]) -> ModelChain:
        """The same chain with ``fn`` applied to every model (e.g. ``bind_tools``)."""
        mapped = [NamedModel(m.name, fn(m.model)) for m in self.models]
        return ModelChain(mapped, policy=self.policy, sleep=self.sleep, asleep=self.asleep)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ModelChain:
        """Every model with ``tools`` bound."""
        return self.map(lambda m: m.bind_tools(tools, **kwargs))  # type: ignore[attr-defined]

    def invoke(self, input: Any, config: RunnableConfig | None = None) -> Any:
        """The first model's answer that succeeds; ModelError when all fail."""
        return self.invoke_with_info(input, config).output

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None) -> Any:
        return (await self.ainvoke_with_info(input, config)).output

    def invoke_with_info(
        self, input: Any, config: RunnableConfig | None = None
    ) -> ChainResult[Any]:
        """Like ``invoke`` but also says which model answered and what was tried."""
        attempts: list[Attempt] = []
        last: ModelError | None = None
        for named in self.models:
            try:
                output = call_with_retries(
                    lambda named=named: named.model.invoke(input, config),  # type: ignore[misc]
                    model=named.name,
                    policy=self.policy,
                    sleep=self.sleep,
                    attempts=attempts,
                )
            except ModelError as exc:
                last = exc
                continue
            return ChainResult(output, named.name, attempts)
        raise self._exhausted(attempts, last)

    async def ainvoke_with_info(
        self, input: Any, config: RunnableConfig | None = None
    ) -> ChainResult[Any]:
        attempts: list[Attempt] = []
        last: ModelError | None = None
        for named in self.models:
            try:
                output = await acall_with_retries(
                    lambda named=named: named.model.ainvoke(input, config),  # type: ignore[misc]
                    model=named.name,
                    policy=self.policy,
                    sleep=self.asleep,
                    attempts=attempts,
                )
            except ModelError as exc:
                last = exc
                continue
            return ChainResult(output, named.name, attempts)
        raise self._exhausted(attempts, last)

    def _exhausted(self, attempts: list[Attempt], last: ModelError | None) -> ModelError:
        """One error for the whole chain; its type, status and retryable flag follow the last."""
        summary = "; ".join(f"{a.model}#{a.number}: {a.error}" for a in attempts)
        message = f"every model failed ({', '.join(self.names)}): {summary}"
        details = {"attempts": [a.to_dict() for a in attempts]}
        if isinstance(last, ModelTimeout):
            return ModelTimeout(message, details=details)
        return ProviderError(
            message,
            status=getattr(last, "status", None),
            retryable=bool(last and last.retryable),
            details=details,
        )
