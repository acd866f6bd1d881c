"""invoke_structured: re-ask with the errors, then the next model, then StructuredOutputError."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field
from waypost.agents.resilience import ModelChain, NamedModel, RetryPolicy
from waypost.agents.structured import StepModels, ainvoke_structured, invoke_structured
from waypost.runtime.errors import StructuredOutputError
from waypost.runtime.settings import ModelSettings

from tests.fakes import Fault, ScriptedChatModel, scripted

FAST = RetryPolicy(timeout_s=5, max_retries=1, backoff_s=0.0)


class Refund(BaseModel):
    approve: bool
    amount: float = Field(ge=0)
    reason: str


GOOD = Refund(approve=True, amount=12.5, reason="damaged")


def _chain(*models: ScriptedChatModel) -> ModelChain:
    return ModelChain([NamedModel(m.model_name, m) for m in models], policy=FAST)


def test_first_answer_valid() -> None:
    model = scripted(GOOD, name="local:a")
    result = invoke_structured(_chain(model), Refund, "refund?")
    assert result.value == GOOD and result.model_name == "local:a"
    assert len(result.attempts) == 1 and result.attempts[0].error is None
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert model.calls[0].schema == "Refund"


def test_reask_sends_the_validation_errors_back_to_the_same_model() -> None:
    model = scripted({"approve": True, "amount": -3, "reason": "x"}, GOOD, name="local:a")
    result = invoke_structured(_chain(model), Refund, "refund?", max_reasks=2)
    assert result.value == GOOD
    [first, second] = result.attempts
    assert first.kind == "validation" and "amount" in (first.error or "")
    assert second.error is None and second.number == 2
    reask = model.calls[1].messages
    assert reask[-2].content == '{"approve": true, "amount": -3, "reason": "x"}'
    assert "amount: Input should be greater than or equal to 0" in reask[-1].content
    assert '"required"' in reask[-1].content  # the schema is restated


def test_falls_back_after_max_reasks() -> None:
    primary = scripted(Fault.MALFORMED_JSON, "not json", {"approve": "?"}, name="local:a")
    fallback = scripted(GOOD, name="openai:gpt-4o-mini")
    result = invoke_structured(_chain(primary, fallback), Refund, "refund?", max_reasks=2)
    assert result.value == GOOD and result.model_name == "openai:gpt-4o-mini"
    assert [a.model for a in result.attempts] == ["local:a"] * 3 + ["openai:gpt-4o-mini"]
    assert primary.remaining == 0 and len(primary.calls) == 3


def test_provider_error_falls_back_without_reasking() -> None:
    primary = scripted(Fault.BAD_REQUEST, name="local:a")
    fallback = scripted(GOOD, name="local:b")
    result = invoke_structured(_chain(primary, fallback), Refund, "refund?")
    assert result.model_name == "local:b"
    assert result.attempts[0].code == "provider_error"


def test_every_model_failing_raises_with_each_attempt() -> None:
    primary = scripted(Fault.MALFORMED_JSON, Fault.MALFORMED_JSON, name="local:a")
    fallback = scripted(Fault.SERVER_ERROR, Fault.SERVER_ERROR, name="local:b")
    with pytest.raises(StructuredOutputError) as info:
        invoke_structured(_chain(primary, fallback), Refund, "refund?", max_reasks=1)
    attempts = info.value.details["attempts"]
    assert [(a["model"], a["kind"]) for a in attempts] == [
        ("local:a", "validation"),
        ("local:a", "validation"),
        ("local:b", "call"),
        ("local:b", "call"),
    ]
    assert "no model produced valid Refund output" in info.value.message
    assert info.value.code == "structured_output_failed"


def test_dict_schema_returns_a_dict() -> None:
    schema = {"title": "Pick", "type": "object", "properties": {"n": {"type": "integer"}}}
    result = invoke_structured(_chain(scripted({"n": 3})), schema, "pick")
    assert result.value == {"n": 3}


async def test_async_reask_then_fallback() -> None:
    primary = scripted(Fault.MALFORMED_JSON, Fault.MALFORMED_JSON, name="local:a")
    fallback = scripted(GOOD, name="local:b")
    result = await ainvoke_structured(_chain(primary, fallback), Refund, "refund?", max_reasks=1)
    assert result.value == GOOD and len(result.attempts) == 3


def test_step_models_build_a_chain_from_names() -> None:
    settings = ModelSettings(max_retries=4, timeout_s=9, max_reasks=3)
    step = StepModels(primary="local:a", fallbacks=("local:b", "local:a"), max_retries=1)
    built: list[str] = []

    def resolve(name: str, s: ModelSettings) -> ScriptedChatModel:
        built.append(name)
        return scripted(GOOD, name=name)

    chain = step.build(settings, resolve=resolve)
    assert chain.names == built == ["local:a", "local:b"]
    assert chain.policy.max_retries == 1 and chain.policy.timeout_s == 9
    assert step.reasks(settings) == 3
    assert invoke_structured(chain, Refund, "x").value == GOOD
