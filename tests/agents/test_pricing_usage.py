"""Prices (unknown models flagged, overrides win) and per-call usage records."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage
from waypost.observability.pricing import price_usd
from waypost.observability.usage import UsageCollector
from waypost.runtime.settings import ModelPrice

from tests.fakes import scripted


def test_known_model_price() -> None:
    result = price_usd("openai:gpt-4o-mini", 1_000_000, 500_000)
    assert result.known and result.usd == pytest.approx(0.15 + 0.30)


def test_dated_snapshot_uses_family_price() -> None:
    assert price_usd("anthropic:claude-sonnet-4-20250514", 1_000_000, 0).usd == pytest.approx(3.0)
    assert price_usd("openai:gpt-4o-2024-08-06", 0, 1_000_000).usd == pytest.approx(10.0)


def test_local_models_are_free_but_known() -> None:
    result = price_usd("local:qwen2.5-coder-0.5b", 10_000, 10_000)
    assert result.known and result.usd == 0


def test_unknown_model_is_flagged_not_silently_free() -> None:
    result = price_usd("openai:mystery-model", 1000, 1000)
    assert result.known is False and result.price is None


def test_overrides_win_and_extend() -> None:
    overrides = {
        "openai:gpt-4o-mini": ModelPrice(input_per_mtok=1, output_per_mtok=2),
        "openai:vllm-qwen": ModelPrice(input_per_mtok=0.1, output_per_mtok=0.1),
    }
    assert price_usd("openai:gpt-4o-mini", 1_000_000, 1_000_000, overrides).usd == 3
    assert price_usd("openai:vllm-qwen", 1_000_000, 0, overrides).known


def test_collector_records_one_row_per_call_with_node_and_cost() -> None:
    reply = AIMessage(
        "hi", usage_metadata={"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200}
    )
    model = scripted(reply, "second", name="openai:gpt-4o-mini")
    collector = UsageCollector(step="triage")
    model.invoke("a", config={"callbacks": [collector], "metadata": {"langgraph_node": "triage"}})
    model.invoke("b c", config={"callbacks": [collector]})
    first, second = collector.records
    assert (first.model, first.input_tokens, first.output_tokens) == (
        "openai:gpt-4o-mini",
        1000,
        200,
    )
    assert first.usd == pytest.approx((1000 * 0.15 + 200 * 0.60) / 1e6)
    assert first.price_known and first.node == "triage" and first.step == "triage"
    assert first.latency_ms >= 0 and second.node is None
    totals = collector.totals()
    assert totals.calls == 2 and totals.input_tokens == 1000 + second.input_tokens


def test_collector_flags_unpriced_models_and_skips_failed_calls() -> None:
    model = scripted("ok", RuntimeError("down"), name="scripted:fake")
    collector = UsageCollector()
    model.invoke("x", config={"callbacks": [collector]})
    with pytest.raises(RuntimeError):
        model.invoke("y", config={"callbacks": [collector]})
    [record] = collector.records
    assert record.price_known is False and not collector.totals().all_priced
