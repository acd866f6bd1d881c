"""ScriptedChatModel behaves like a provider: tools, structured output, faults, call log."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel
from waypost.runtime.errors import ModelTimeout, ProviderError

from tests.fakes import Fault, ScriptedChatModel, scripted


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order."""
    return order_id


class Answer(BaseModel):
    text: str


def test_queue_order_and_call_log() -> None:
    model = scripted("one", AIMessage("two"))
    assert model.invoke("a").content == "one"
    assert model.invoke([HumanMessage("b")]).content == "two"
    assert [c.messages[0].content for c in model.calls] == ["a", "b"]
    with pytest.raises(AssertionError, match="queue exhausted"):
        model.invoke("c")


def test_bind_tools_pops_the_same_queue_and_records_tools() -> None:
    model = scripted(ScriptedChatModel.tool_call("lookup_order", {"order_id": "A1"}, id="c1"))
    reply = model.bind_tools([lookup_order]).invoke("where is A1?")
    assert reply.tool_calls == [
        {"name": "lookup_order", "args": {"order_id": "A1"}, "id": "c1", "type": "tool_call"}
    ]
    assert model.calls[0].tools == ["lookup_order"]
    assert reply.usage_metadata and reply.usage_metadata["input_tokens"] == 3


def test_structured_output_parses_and_fails_like_a_provider() -> None:
    model = scripted(Answer(text="hi"), Fault.MALFORMED_JSON, {"wrong": 1})
    structured = model.with_structured_output(Answer)
    assert structured.invoke("x") == Answer(text="hi")
    with pytest.raises(OutputParserException, match=r"not valid JSON|does not match"):
        structured.invoke("x")
    raw = model.with_structured_output(Answer, include_raw=True).invoke("x")
    assert raw["parsed"] is None and isinstance(raw["parsing_error"], OutputParserException)
    assert model.calls[0].schema == "Answer"


def test_faults_and_exceptions_are_raised() -> None:
    model = scripted(Fault.TIMEOUT, Fault.RATE_LIMIT, ValueError("custom"))
    with pytest.raises(ModelTimeout):
        model.invoke("x")
    with pytest.raises(ProviderError) as info:
        model.invoke("x")
    assert info.value.status == 429 and info.value.retryable
    with pytest.raises(ValueError, match="custom"):
        model.invoke("x")


def test_callable_items_see_the_messages() -> None:
    model = scripted(lambda messages: f"echo {messages[-1].content}")
    assert model.invoke("ping").content == "echo ping"


async def test_async_invoke() -> None:
    model = scripted("async ok")
    assert (await model.ainvoke("x")).content == "async ok"
