"""The constrained-JSON tool protocol of the local model, without loading it."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from waypost.agents.local.protocol import (
    ToolSpec,
    parse_tool_reply,
    resolve_tool_choice,
    to_chat_messages,
    tool_reply_schema,
    tools_system_prompt,
)

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADD = ToolSpec(
    "add",
    "Add two integers.",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)


def test_parses_a_tool_call_with_a_generated_id() -> None:
    msg = parse_tool_reply('{"tool": "add", "arguments": {"a": 2, "b": 3}}', ["get_weather", "add"])
    assert msg.content == ""
    [call] = msg.tool_calls
    assert call["name"] == "add" and call["args"] == {"a": 2, "b": 3}
    assert call["id"] and call["id"].startswith("call_")


def test_parses_a_final_answer_as_content() -> None:
    msg = parse_tool_reply('{"final_answer": "Paris"}', ["add"])
    assert msg.content == "Paris" and msg.tool_calls == []


@pytest.mark.parametrize(
    "text",
    [
        '{"tool": "add", "arguments": {"a": 1',
        '{"tool": "rm_rf", "arguments": {}}',
        '{"tool": "add", "arguments": [1, 2]}',
    ],
)
def test_bad_replies_become_invalid_tool_calls(text: str) -> None:
    msg = parse_tool_reply(text, ["add"])
    assert msg.tool_calls == []
    assert msg.invalid_tool_calls and msg.invalid_tool_calls[0]["error"]


def test_schema_is_any_of_tools_plus_final_answer() -> None:
    schema = tool_reply_schema([WEATHER, ADD], allow_final=True)
    options = schema["anyOf"]
    assert [o["properties"].get("tool", {}).get("const") for o in options] == [
        "get_weather",
        "add",
        None,
    ]
    assert options[1]["properties"]["arguments"] == ADD.parameters
    assert options[2]["required"] == ["final_answer"]


def test_tool_choice_variants() -> None:
    tools = [WEATHER, ADD]
    assert resolve_tool_choice(tools, None) == (tools, True)
    assert resolve_tool_choice(tools, "any") == (tools, False)
    assert resolve_tool_choice(tools, "add") == ([ADD], False)
    assert resolve_tool_choice(tools, {"type": "function", "function": {"name": "add"}}) == (
        [ADD],
        False,
    )
    assert resolve_tool_choice(tools, "none") == ([], True)
    with pytest.raises(ValueError, match="names no bound tool"):
        resolve_tool_choice(tools, "nope")
    forced = tool_reply_schema([ADD], allow_final=False)
    assert forced["properties"]["tool"] == {"const": "add"}


def test_messages_map_to_chat_completions() -> None:
    call = AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}])
    out = to_chat_messages(
        [
            SystemMessage("Be brief."),
            HumanMessage("1+2?"),
            call,
            ToolMessage("3", tool_call_id="c1", name="add"),
        ],
        extra_system=tools_system_prompt([ADD], True),
    )
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert out[0]["content"].startswith("Be brief.\n\nYou can call these tools:")
    assert json.loads(out[2]["content"]) == {"tool": "add", "arguments": {"a": 1, "b": 2}}
    assert out[3]["content"] == "Result of tool `add`: 3"
