"""The fault suite, small and bounded: no lost run, no duplicated side effect, no HTTP 5xx.

Every run must end completed, degraded with a reason, or failed with a reason. The same
scenarios run longer in ``bench/faults.py``, whose figures are in ``docs/reliability.md``.
"""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI
from waypost.agents.resilience import ModelChain, NamedModel, RetryPolicy
from waypost.agents.structured import ainvoke_structured
from waypost.observability.tracing import close_tracing

from tests.faults import scenarios
from tests.faults.fault_graph import Verdict
from tests.faults.harness import Figures, FlakyModel


def _assert_sound(figures: Figures, *, may_degrade: bool = False) -> None:
    print(figures.report())
    assert figures.submitted > 0, figures.report()
    assert figures.lost == 0, figures.report()
    assert figures.duplicated == 0, figures.report()
    assert figures.http_5xx == 0, figures.report()
    ended = figures.completed + figures.degraded + figures.failed
    assert ended == figures.submitted, figures.report()
    if not may_degrade:
        assert figures.degraded == 0, figures.report()
    # every failure and degradation names its reason
    unexplained = figures.failed + figures.degraded - sum(figures.reasons.values())
    assert unexplained <= 0, figures.report()


async def test_malformed_output_is_asked_again_not_given_up() -> None:
    """The OpenAI SDK refuses a reply that is not the schema's JSON: that is a re-ask."""
    model = FlakyModel(script=["malformed", "http_5xx", "ok"])
    url = model.start()
    try:
        chat = ChatOpenAI(model="m", base_url=url, api_key="none", timeout=2, max_retries=0)
        chain = ModelChain(
            [NamedModel("openai:m", chat)], policy=RetryPolicy(timeout_s=2, backoff_s=0.01)
        )
        result = await ainvoke_structured(chain, Verdict, [("user", "hi")], max_reasks=1)
    finally:
        model.stop()
    assert result.value == Verdict(label="refund", confidence=0.9)
    assert [a.code for a in result.attempts] == [
        "structured_output_failed",
        "provider_error",
        None,
    ], result.attempts
    assert dict(model.calls) == {"malformed": 1, "http_5xx": 1, "ok": 1}


@pytest.mark.timeout(180)
async def test_a_model_failing_30_percent_of_calls(sqlite_url: str) -> None:
    figures = await scenarios.flaky_model(sqlite_url, runs=24)
    _assert_sound(figures, may_degrade=True)
    calls = figures.notes["model calls"]
    assert {"timeout", "http_5xx", "malformed"} <= set(calls), calls  # every fault happened
    assert figures.completed > figures.submitted / 2, figures.report()  # retries recover most


@pytest.mark.postgres
@pytest.mark.timeout(180)
async def test_all_database_connections_killed_under_load(
    postgres_url: str, postgres_admin_url: str
) -> None:
    figures = await scenarios.database_connections_killed(
        postgres_url, postgres_admin_url, runs=24, kills=2, every_s=1.0
    )
    _assert_sound(figures)
    assert sum(figures.notes["connections killed per round"]) > 0


@pytest.mark.postgres
@pytest.mark.timeout(240)
async def test_worker_processes_killed_in_a_loop(postgres_url: str) -> None:
    figures = await scenarios.workers_killed(postgres_url, runs=24, kills=2)
    _assert_sound(figures)
    assert figures.notes["workers killed"] >= 1
    assert figures.notes["runs retried on another worker"] >= 1  # a victim's run was finished


@pytest.mark.timeout(180)
async def test_a_langfuse_that_never_answers(sqlite_url: str) -> None:
    try:
        figures = await scenarios.slow_langfuse(sqlite_url, runs=12)
    finally:
        close_tracing(1.0)
    _assert_sound(figures)
    assert figures.completed == figures.submitted
