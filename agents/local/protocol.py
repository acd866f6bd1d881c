"""The JSON protocol that gives small local models tool calling through constrained decoding.

Small GGUF models do not emit native tool calls reliably, so when tools are bound the decoder is
constrained to one JSON object: ``{"tool": <name>, "arguments": {...}}`` for a call, or
``{"final_answer": "..."}``. The tools are described in the system prompt; the reply is parsed
back into ``AIMessage.tool_calls``. Pure functions: unit-testable without a model.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from waypost.agents._json_output import message_text

__all__ = [
    "ToolSpec",
    "parse_tool_reply",
    "resolve_tool_choice",
    "to_chat_messages",
    "tool_reply_schema",
    "tools_system_prompt",
]

FINAL_ANSWER = "final_answer"


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: name, description, JSON schema of the arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    @classmethod
    def from_openai(cls, tool: dict[str, Any]) -> ToolSpec:
        fn = tool["function"]
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        return cls(str(fn["name"]), str(fn.get("description", "")), dict(params))


def resolve_tool_choice(tools: Sequence[ToolSpec], tool_choice: Any) -> tuple[list[ToolSpec], bool]:
    """The tools the reply may call and whether a final answer is allowed.

    ``None``/``"auto"``: any tool or an answer; ``"any"``/``"required"``/``True``: a tool;
    a tool name or ``{"function": {"name": ...}}``: that tool; ``"none"``: no tool.
    """
    if tool_choice in (None, "auto"):
        return list(tools), True
    if tool_choice == "none" or tool_choice is False:
        return [], True
    if tool_choice in ("any", "required", True):
        return list(tools), False
    name = tool_choice
    if isinstance(tool_choice, dict):
        name = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    chosen = [t for t in tools if t.name == name]
    if not chosen:
        raise ValueError(f"tool_choice {tool_choice!r} names no bound tool")
    return chosen, False


def tool_reply_schema(tools: Sequence[ToolSpec], allow_final: bool) -> dict[str, Any]:
    """``anyOf`` one object per tool (plus the final answer) for grammar-constrained decoding."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"tool": {"const": t.name}, "arguments": t.parameters},
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    if allow_final:
        options.append(
            {
                "type": "object",
                "properties": {FINAL_ANSWER: {"type": "string"}},
                "required": [FINAL_ANSWER],
                "additionalProperties": False,
            }
        )
    return options[0] if len(options) == 1 else {"anyOf": options}


def tools_system_prompt(tools: Sequence[ToolSpec], allow_final: bool) -> str:
    """The instructions appended to the system prompt when tools are bound."""
    lines = ["You can call these tools:"]
    for t in tools:
        args = json.dumps(t.parameters.get("properties", {}), separators=(",", ":"))
        lines.append(f"- {t.name}: {t.description} Arguments: {args}")
    lines.append(
        'To call a tool, reply with JSON {"tool": "<name>", "arguments": {...}}.'
        + (
            ' When you can answer without a tool, reply with JSON {"final_answer": "<answer>"}.'
            if allow_final
            else ""
        )
    )
    return "\n".join(lines)


def parse_tool_reply(text: str, tool_names: Sequence[str]) -> AIMessage:
    """An AIMessage with ``tool_calls`` (generated ids) or the final answer as content.

    Output that is not the protocol (e.g. cut off at max_tokens) becomes an ``invalid_tool_calls``
    entry with the raw text, so callers can re-ask instead of crashing.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        return _invalid(text, f"reply is not valid JSON: {exc}")
    if isinstance(data, dict) and isinstance(data.get(FINAL_ANSWER), str) and "tool" not in data:
        return AIMessage(content=data[FINAL_ANSWER])
    if not isinstance(data, dict) or data.get("tool") not in tool_names:
        return _invalid(text, f"reply names no bound tool (expected one of {list(tool_names)})")
    args = data.get("arguments", {})
    if not isinstance(args, dict):
        return _invalid(text, "tool arguments are not a JSON object")
    call = ToolCall(name=str(data["tool"]), args=args, id=_call_id(), type="tool_call")
    return AIMessage(content="", tool_calls=[call])


def _invalid(text: str, error: str) -> AIMessage:
    bad = InvalidToolCall(
        name=None, args=text, id=_call_id(), error=error, type="invalid_tool_call"
    )
    return AIMessage(content=text, invalid_tool_calls=[bad])


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def to_chat_messages(
    messages: Sequence[BaseMessage], extra_system: str | None = None
) -> list[dict[str, str]]:
    """LangChain messages as chat-completions dicts, in the protocol the model was shown.

    Assistant tool calls are replayed as the JSON the model emitted; tool results become user
    turns (works with any chat template, unlike a ``tool`` role).
    """
    out: list[dict[str, str]] = []
    for msg in messages:
        text = message_text(msg)
        if isinstance(msg, SystemMessage):
            out.append({"role": "system", "content": text})
        elif isinstance(msg, AIMessage):
            if msg.tool_calls:
                text = "\n".join(
                    json.dumps({"tool": c["name"], "arguments": c["args"]}) for c in msg.tool_calls
                )
            out.append({"role": "assistant", "content": text})
        elif isinstance(msg, ToolMessage):
            name = msg.name or "tool"
            out.append({"role": "user", "content": f"Result of tool `{name}`: {text}"})
        elif isinstance(msg, HumanMessage):
            out.append({"role": "user", "content": text})
        else:
            role = getattr(msg, "role", "user")
            out.append(
                {
                    "role": role if role in ("user", "assistant", "system") else "user",
                    "content": text,
                }
            )
    if extra_system:
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{extra_system}"}
        else:
            out.insert(0, {"role": "system", "content": extra_system})
    return out
