"""The real offline model through xllamacpp: usage, structured output, tools, and the openai:
provider against the OpenAI-compatible HTTP endpoint xllamacpp serves on loopback.

Kept few and short: each call generates at most a few dozen tokens.
"""

from __future__ import annotations

import httpx
import pytest
from langchain_core.tools import tool
from pydantic import BaseModel, SecretStr
from waypost.agents.local.chat import LocalChatModel
from waypost.agents.registry import get_chat_model
from waypost.agents.resilience import ModelChain
from waypost.agents.structured import invoke_structured
from waypost.observability.usage import UsageCollector
from waypost.runtime.settings import ModelSettings

pytestmark = pytest.mark.local_model


class Capital(BaseModel):
    country: str
    capital: str


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"sunny in {city}"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_chat_reports_usage_and_metadata(local_model: LocalChatModel) -> None:
    collector = UsageCollector()
    reply = local_model.invoke(
        "Reply with one word: hello", max_tokens=8, config={"callbacks": [collector]}
    )
    assert isinstance(reply.content, str) and reply.content
    usage = reply.usage_metadata
    assert usage and usage["input_tokens"] > 5 and 0 < usage["output_tokens"] <= 8
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    meta = reply.response_metadata
    assert meta["model_name"] == "local:qwen2.5-coder-0.5b"
    assert meta["finish_reason"] in {"stop", "length"}
    assert meta["timings"]["predicted_per_second"] > 0
    [record] = collector.records
    assert record.model == "local:qwen2.5-coder-0.5b" and record.price_known and record.usd == 0


def test_structured_output_is_constrained_and_validated(local_model: LocalChatModel) -> None:
    out = local_model.with_structured_output(Capital, include_raw=True).invoke(
        "What is the capital of France?"
    )
    assert out["parsing_error"] is None
    assert isinstance(out["parsed"], Capital) and out["parsed"].capital.strip()


def test_bound_tools_yield_parsed_tool_calls(local_model: LocalChatModel) -> None:
    reply = local_model.bind_tools([get_weather, add]).invoke(
        "What is the weather in Paris right now?"
    )
    [call] = reply.tool_calls
    assert call["name"] == "get_weather" and call["id"]
    get_weather.args_schema.model_validate(call["args"])  # type: ignore[union-attr]
    assert "paris" in call["args"]["city"].lower()

    forced = local_model.bind_tools([get_weather, add], tool_choice="add").invoke(
        "What is 17 plus 25?"
    )
    [call] = forced.tool_calls
    assert call["name"] == "add"
    assert add.invoke(call["args"]) == call["args"]["a"] + call["args"]["b"]


def test_openai_provider_against_a_real_local_openai_server(local_model: LocalChatModel) -> None:
    # xllamacpp's Server also listens on loopback HTTP and speaks the OpenAI wire protocol.
    server = local_model.load()
    base_url = server.listening_address + "/v1"
    assert httpx.post(f"{base_url}/chat/completions", json={}).status_code == 401  # keyed
    settings = ModelSettings(
        openai_base_url=base_url, openai_api_key=SecretStr(server.api_key), timeout_s=60
    )
    model = get_chat_model("openai:qwen2.5-coder-0.5b", settings)

    reply = model.invoke("Reply with one word: hello", max_tokens=8)
    assert reply.content and reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0

    parsed = model.with_structured_output(Capital).invoke("What is the capital of Italy?")
    assert isinstance(parsed, Capital) and parsed.capital.strip()

    chain = ModelChain([("openai:qwen2.5-coder-0.5b", model)])
    result = invoke_structured(chain, Capital, "What is the capital of Spain?")
    assert result.model_name == "openai:qwen2.5-coder-0.5b"
    assert result.usage.input_tokens > 0
