"""Concurrent calls share one local model: settings -> llama.cpp slots, batching, prompt cache."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from waypost.agents.local.chat import LocalChatModel
from waypost.agents.local.server import server_params
from waypost.evals.models import ModelSetup
from waypost.runtime.errors import ProviderError
from waypost.runtime.settings import ModelSettings, Settings


def test_settings_become_slots_and_a_context_per_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYPOST_MODELS__PARALLEL_SLOTS", "3")
    monkeypatch.setenv("WAYPOST_MODELS__N_CTX", "2048")
    monkeypatch.setenv("WAYPOST_MODELS__PROMPT_CACHE_MIB", "64")
    monkeypatch.setenv("WAYPOST_MODELS__N_THREADS", "1")
    model = LocalChatModel.from_settings("local:qwen2.5-coder-0.5b", Settings().models)
    options = model.server_options()
    assert (options.parallel_slots, options.ctx_per_slot, options.n_ctx) == (3, 2048, 6144)

    params = server_params(Path("/models/m.gguf"), options)
    assert params.model.path == "/models/m.gguf"
    assert params.n_parallel == 3
    assert params.n_ctx == 6144  # llama.cpp splits it: 2048 tokens per slot
    assert params.kv_unified is False  # each slot keeps its own share
    assert params.cont_batching is True and params.cache_prompt is True
    assert params.cache_ram_mib == 64
    assert params.cpuparams.n_threads == params.cpuparams_batch.n_threads == 1


def test_defaults_give_every_call_the_previous_context() -> None:
    settings = ModelSettings()
    options = LocalChatModel.from_settings("qwen2.5-coder-0.5b", settings).server_options()
    assert options.ctx_per_slot == settings.n_ctx == 8192
    assert options.parallel_slots == settings.parallel_slots == 4
    assert LocalChatModel().server_options() == options  # direct construction: same defaults


def test_eval_runs_as_many_local_cases_as_there_are_slots() -> None:
    settings = Settings(models=ModelSettings(parallel_slots=3))
    assert ModelSetup("local:qwen2.5-coder-0.5b", settings).max_concurrency == 3
    assert ModelSetup("openai:gpt-4o-mini", settings).max_concurrency is None


class Decision(BaseModel):
    refund: bool
    days: int = Field(ge=0, le=365)


POLICY = "You decide refunds for an online store. " + " ".join(
    f"Rule {i}: items of category {i} may be returned within {10 + i} days of delivery."
    for i in range(1, 13)
)


@pytest.mark.local_model
def test_concurrent_structured_calls_are_batched_and_all_parse() -> None:
    # Its own server (other options than the session's model): fresh counters.
    model = LocalChatModel(n_ctx=1024, parallel_slots=4, max_tokens=32)
    server = model.load()
    structured = model.with_structured_output(Decision, include_raw=True)
    results: dict[int, dict[str, object]] = {}

    def ask(i: int) -> None:
        results[i] = structured.invoke(
            [
                ("system", POLICY),
                ("human", f"An item of category {i + 1} was delivered {i * 7} days ago. Refund?"),
            ]
        )

    for _ in range(2):  # the second round finds the shared policy in the prompt cache
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
        assert len(results) == 4
        for out in results.values():
            assert out["parsing_error"] is None
            assert isinstance(out["parsed"], Decision)
        last = dict(results)
        results.clear()

    metrics = server.metrics()
    assert metrics["n_busy_slots_per_decode"] > 1.5  # calls were decoded together, not queued
    assert metrics["requests_processing"] == 0
    cached = [
        out["raw"].usage_metadata["input_token_details"]["cache_read"]  # type: ignore[attr-defined]
        for out in last.values()
    ]
    prompt = last[0]["raw"].usage_metadata["input_tokens"]  # type: ignore[attr-defined]
    assert sum(cached) >= prompt // 2  # the shared prefix was not recomputed for every call


@pytest.mark.local_model
def test_a_prompt_longer_than_a_slot_names_the_setting() -> None:
    model = LocalChatModel(n_ctx=512, parallel_slots=2, max_tokens=8)
    with pytest.raises(ProviderError, match="512-token context of a slot") as info:
        model.invoke("word " * 800)
    assert info.value.status == 400 and not info.value.retryable
    assert "WAYPOST_MODELS__N_CTX" in info.value.message
