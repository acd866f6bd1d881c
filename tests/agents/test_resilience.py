"""Timeouts, bounded retries with backoff, error mapping and fallback chains."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from waypost.agents.resilience import ModelChain, RetryPolicy, call_with_retries, to_model_error
from waypost.runtime.errors import ModelTimeout, ProviderError

from tests.fakes import Fault, scripted


def test_timeout_is_enforced_and_retries_are_bounded() -> None:
    model = scripted(Fault.HANG, Fault.HANG, Fault.HANG, Fault.HANG, "too many")
    model.hang_s = 2.0
    sleeps: list[float] = []
    policy = RetryPolicy(timeout_s=0.2, max_retries=2, backoff_s=0.05)
    chain = ModelChain([("remote:slow", model)], policy=policy, sleep=sleeps.append)
    started = time.perf_counter()
    with pytest.raises(ModelTimeout) as info:
        chain.invoke("hello")
    elapsed = time.perf_counter() - started
    assert len(model.calls) == 3  # 1 + max_retries, then no more
    assert elapsed < 1.5  # 3 x 0.2 s, not 3 x 2 s
    assert sleeps == [0.05, 0.1]
    assert len(info.value.details["attempts"]) == 3


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=3.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retryable_errors_are_retried_then_succeed() -> None:
    model = scripted(Fault.RATE_LIMIT, Fault.SERVER_ERROR, "ok")
    sleeps: list[float] = []
    result = ModelChain(
        [("local:a", model)], policy=RetryPolicy(max_retries=2, backoff_s=0.01), sleep=sleeps.append
    ).invoke_with_info("hi")
    assert result.output.content == "ok"
    assert [a.code for a in result.attempts] == ["provider_error", "provider_error", None]
    assert sleeps == [0.01, 0.02]


def test_non_retryable_error_goes_straight_to_the_fallback() -> None:
    primary = scripted(Fault.BAD_REQUEST, "never")
    fallback = scripted("from fallback")
    sleeps: list[float] = []
    result = ModelChain(
        [("local:a", primary), ("local:b", fallback)], policy=RetryPolicy(), sleep=sleeps.append
    ).invoke_with_info("hi")
    assert result.model_name == "local:b" and result.output.content == "from fallback"
    assert len(primary.calls) == 1 and sleeps == []


def test_exhausted_chain_raises_provider_error_with_attempts() -> None:
    chain = ModelChain(
        [("local:a", scripted(Fault.RATE_LIMIT)), ("local:b", scripted(Fault.BAD_REQUEST))],
        policy=RetryPolicy(max_retries=0),
    )
    with pytest.raises(ProviderError, match="every model failed") as info:
        chain.invoke("hi")
    assert [a["model"] for a in info.value.details["attempts"]] == ["local:a", "local:b"]
    assert info.value.status == 400 and info.value.retryable is False  # from the last error


async def test_async_timeout_cancels_and_falls_back() -> None:
    slow = scripted(Fault.HANG, Fault.HANG)
    slow.hang_s = 5.0
    chain = ModelChain(
        [("local:slow", slow), ("local:fast", scripted("fast"))],
        policy=RetryPolicy(timeout_s=0.1, max_retries=1, backoff_s=0.0),
    )
    started = time.perf_counter()
    result = await chain.ainvoke_with_info("hi")
    assert result.model_name == "local:fast"
    assert time.perf_counter() - started < 1.0
    assert [a.code for a in result.attempts] == ["model_timeout", "model_timeout", None]


def _status_error(status: int) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, request=request, json={"error": {"message": "x"}})
    return openai.APIStatusError("boom", response=response, body=None)


@pytest.mark.parametrize(
    ("exc", "kind", "retryable", "status"),
    [
        (TimeoutError("t"), ModelTimeout, True, None),
        (
            openai.APITimeoutError(request=httpx.Request("POST", "http://127.0.0.1")),
            ModelTimeout,
            True,
            None,
        ),
        (
            openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1")),
            ProviderError,
            True,
            None,
        ),
        (_status_error(429), ProviderError, True, 429),
        (_status_error(503), ProviderError, True, 503),
        (_status_error(400), ProviderError, False, 400),
        (_status_error(401), ProviderError, False, 401),
        (RuntimeError("bug"), ProviderError, False, None),
    ],
)
def test_provider_exceptions_are_mapped(
    exc: Exception, kind: type, retryable: bool, status: int | None
) -> None:
    error = to_model_error(exc, "openai:gpt-4o-mini")
    assert type(error) is kind and error.retryable is retryable
    assert getattr(error, "status", None) == status


def test_call_with_retries_without_timeout_runs_inline() -> None:
    calls: list[int] = []
    assert (
        call_with_retries(
            lambda: calls.append(1) or "v", model="m", policy=RetryPolicy(timeout_s=None)
        )
        == "v"
    )
    assert calls == [1]


def test_local_model_timeout_is_not_retried() -> None:
    """A timed-out local call keeps the model's single slot busy: retrying would only queue."""
    import threading

    from waypost.agents.resilience import RetryPolicy, call_with_retries
    from waypost.runtime.errors import ModelTimeout

    release = threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        release.wait(2)
        return "late"

    policy = RetryPolicy(timeout_s=0.05, max_retries=3, backoff_s=0)
    try:
        with pytest.raises(ModelTimeout):
            call_with_retries(slow, model="local:qwen2.5-coder-0.5b", policy=policy)
        assert len(calls) == 1
        with pytest.raises(ModelTimeout):
            call_with_retries(slow, model="openai:gpt-4o-mini", policy=policy)
        assert len(calls) == 1 + 4  # remote timeouts are retried max_retries times
    finally:
        release.set()
