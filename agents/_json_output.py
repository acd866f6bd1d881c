"""Shared plumbing for ``with_structured_output`` on models that answer in JSON text.

Used by the local model and the scripted test model so both parse (and fail) the same way as
hosted providers: a pydantic class gives a validated instance, a JSON-schema dict gives a dict,
and malformed output raises ``OutputParserException`` (or lands in ``parsing_error`` with
``include_raw=True``).
"""

from __future__ import annotations

import json
import re
from operator import itemgetter
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from pydantic import BaseModel, ValidationError

__all__ = ["message_text", "parse_json_output", "schema_name_and_json", "structured_runnable"]

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def message_text(message: BaseMessage) -> str:
    """The text of a message whose content may be a string or a list of blocks."""
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def schema_name_and_json(schema: type[BaseModel] | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A name and a JSON schema for a pydantic class or a JSON-schema dict."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.__name__, schema.model_json_schema()
    if isinstance(schema, dict):
        if "function" in schema:  # an OpenAI tool dict
            fn = schema["function"]
            return str(fn["name"]), dict(fn.get("parameters", {}))
        return str(schema.get("title", "output")), schema
    raise TypeError(f"unsupported schema {schema!r}: use a pydantic class or a JSON-schema dict")


def parse_json_output(text: str, schema: type[BaseModel] | dict[str, Any]) -> Any:
    """Parse model text into ``schema``; OutputParserException with the errors otherwise."""
    match = _FENCE.match(text)
    body = match.group(1) if match else text.strip()
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            return schema.model_validate_json(body)
        return json.loads(body)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        raise OutputParserException(
            f"output does not match the schema: {errors}", llm_output=text
        ) from exc
    except ValueError as exc:
        raise OutputParserException(f"output is not valid JSON: {exc}", llm_output=text) from exc


def structured_runnable(
    llm: Runnable[Any, BaseMessage],
    schema: type[BaseModel] | dict[str, Any],
    *,
    include_raw: bool,
) -> Runnable[Any, Any]:
    """``llm | parser``, or the ``{"raw", "parsed", "parsing_error"}`` map when include_raw."""
    parser = RunnableLambda(lambda msg: parse_json_output(message_text(msg), schema))
    if not include_raw:
        return llm | parser
    parse_assign = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    parse_none = RunnablePassthrough.assign(parsed=lambda _: None)
    with_fallback = parse_assign.with_fallbacks([parse_none], exception_key="parsing_error")
    return RunnableMap(raw=llm) | with_fallback
