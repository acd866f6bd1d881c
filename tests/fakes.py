"""Test doubles shared by every test package. No network, no model weights.

``ScriptedChatModel`` is a real LangChain ``BaseChatModel`` that answers from a queue::

    model = ScriptedChatModel(responses=[
        ScriptedChatModel.tool_call("lookup_order", {"order_id": "A1"}),  # 1st call
        Fault.RATE_LIMIT,                                                # 2nd call raises 429
        {"approved": True, "reason": "policy 3.2"},                      # 3rd: JSON content
        "All done.",                                                     # 4th: plain text
    ])
    model.bind_tools([...]).invoke(messages)       # pops the queue, records the call
    model.with_structured_output(Decision).invoke(messages)  # parses like a real model
    model.calls[0].messages                       # what the model was sent

Queue items: ``AIMessage``, ``str`` (content), ``dict``/pydantic instance (JSON content),
an exception instance (raised), a ``Fault``, or a callable ``(messages) -> item`` for answers
that depend on the input. Every answer carries ``usage_metadata`` (word counts) so usage
accounting works; an exhausted queue raises ``AssertionError``.

``ScriptedOpenAIServer`` is the same idea for another process (``waypost serve`` in a
subprocess): an OpenAI-compatible ``POST /v1/chat/completions`` on loopback that answers from a
queue of texts and tool calls, in JSON or as an SSE stream, and records every request.
"""

from __future__ import annotations

import asyncio
import enum
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCall
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field, PrivateAttr
from waypost.agents._json_output import message_text, schema_name_and_json, structured_runnable
from waypost.runtime.errors import ModelTimeout, ProviderError

__all__ = ["Fault", "ScriptedCall", "ScriptedChatModel", "ScriptedOpenAIServer", "scripted"]


class Fault(enum.Enum):
    """Injectable failures, as queue items."""

    TIMEOUT = "timeout"  # raises ModelTimeout at once (a provider-side timeout)
    HANG = "hang"  # sleeps ``hang_s`` then answers "(late answer)": trips client timeouts
    MALFORMED_JSON = "malformed_json"  # answers '{"truncated": ' (bad for structured output)
    RATE_LIMIT = "rate_limit"  # raises ProviderError(status=429, retryable=True)
    SERVER_ERROR = "server_error"  # raises ProviderError(status=503, retryable=True)
    BAD_REQUEST = "bad_request"  # raises ProviderError(status=400, retryable=False)


@dataclass
class ScriptedCall:
    """One call the model received."""

    messages: list[BaseMessage]
    tools: list[str] = field(default_factory=list)
    schema: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


class ScriptedChatModel(BaseChatModel):
    """A chat model that returns queued responses and records what it was asked."""

    responses: list[Any] = Field(default_factory=list)
    model_name: str = "scripted:fake"
    hang_s: float = 5.0
    calls: list[ScriptedCall] = Field(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # -- scripting helpers -------------------------------------------------------------------

    @staticmethod
    def tool_call(name: str, args: dict[str, Any], id: str | None = None) -> AIMessage:
        """An AIMessage calling one tool."""
        return ScriptedChatModel.tool_calls([(name, args, id)])

    @staticmethod
    def tool_calls(calls: Sequence[tuple[str, dict[str, Any], str | None]]) -> AIMessage:
        """An AIMessage calling several tools at once."""
        return AIMessage(
            content="",
            tool_calls=[
                ToolCall(name=n, args=a, id=i or f"call_{uuid.uuid4().hex[:12]}", type="tool_call")
                for n, a, i in calls
            ],
        )

    def queue(self, *items: Any) -> ScriptedChatModel:
        """Append responses; returns self for chaining."""
        with self._lock:
            self.responses.extend(items)
        return self

    @property
    def remaining(self) -> int:
        return len(self.responses)

    # -- BaseChatModel -----------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        provider, _, name = self.model_name.rpartition(":")
        return LangSmithParams(
            ls_provider=provider or "scripted", ls_model_name=name, ls_model_type="chat"
        )

    def _next(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> Any:
        tools = [t["function"]["name"] for t in kwargs.get("tools") or []]
        call = ScriptedCall(list(messages), tools, kwargs.get("scripted_schema"), dict(kwargs))
        with self._lock:
            self.calls.append(call)
            if not self.responses:
                raise AssertionError(f"ScriptedChatModel queue exhausted on call {len(self.calls)}")
            item = self.responses.pop(0)
        while callable(item) and not isinstance(item, (Fault, BaseModel, type)):
            item = item(messages)
        return item

    def _answer(self, item: Any, messages: list[BaseMessage]) -> ChatResult:
        if isinstance(item, BaseException):
            raise item
        if item is Fault.TIMEOUT:
            raise ModelTimeout(f"{self.model_name} timed out (scripted)")
        if item is Fault.RATE_LIMIT:
            raise ProviderError("rate limited (scripted)", status=429, retryable=True)
        if item is Fault.SERVER_ERROR:
            raise ProviderError("service unavailable (scripted)", status=503, retryable=True)
        if item is Fault.BAD_REQUEST:
            raise ProviderError("bad request (scripted)", status=400, retryable=False)
        if item is Fault.MALFORMED_JSON:
            message = AIMessage(content='{"truncated": ')
        elif item is Fault.HANG:
            message = AIMessage(content="(late answer)")
        elif isinstance(item, AIMessage):
            message = item.model_copy(deep=True)
        elif isinstance(item, BaseModel):
            message = AIMessage(content=item.model_dump_json())
        elif isinstance(item, dict | list):
            message = AIMessage(content=json.dumps(item))
        elif isinstance(item, str):
            message = AIMessage(content=item)
        else:
            raise TypeError(f"cannot script a response from {item!r}")
        if message.usage_metadata is None:
            message.usage_metadata = _word_usage(messages, message)
        message.response_metadata.setdefault("model_name", self.model_name)
        message.response_metadata.setdefault("finish_reason", "stop")
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        item = self._next(messages, kwargs)
        if item is Fault.HANG:
            time.sleep(self.hang_s)
        return self._answer(item, messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        item = self._next(messages, kwargs)
        if item is Fault.HANG:
            await asyncio.sleep(self.hang_s)  # cancellable, unlike the sync sleep
        return self._answer(item, messages)

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        """Records the tools on each call; still answers from the same queue."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        """Parses the queued answer's content into ``schema`` like a JSON-mode provider."""
        name, json_schema = schema_name_and_json(schema)
        llm = self.bind(
            scripted_schema=name,
            ls_structured_output_format={
                "kwargs": {"method": "json_schema"},
                "schema": json_schema,
            },
        )
        return structured_runnable(llm, schema, include_raw=include_raw)


def _word_usage(messages: list[BaseMessage], reply: AIMessage) -> UsageMetadata:
    inp = sum(len(message_text(m).split()) for m in messages) or 1
    text = message_text(reply) or json.dumps([c["args"] for c in reply.tool_calls])
    out = len(text.split()) or 1
    return UsageMetadata(input_tokens=inp, output_tokens=out, total_tokens=inp + out)


def scripted(*items: Any, name: str = "scripted:fake") -> ScriptedChatModel:
    """Shorthand: ``scripted("hi", Fault.TIMEOUT)``."""
    return ScriptedChatModel(responses=list(items), model_name=name)


# -- an OpenAI-compatible server for other processes ------------------------------------------
OpenAIToolCall = tuple[str, dict[str, Any], str]  # (name, arguments, call id)


OpenAIAnswer = str | list[OpenAIToolCall]
OpenAIItem = OpenAIAnswer | Callable[[dict[str, Any]], OpenAIAnswer]


class ScriptedOpenAIServer:
    """``POST /v1/chat/completions`` on 127.0.0.1 answering from a queue, one item per call.

    Items: a ``str`` (the final answer, e.g. the JSON of a structured output), a list of
    ``(name, arguments, call_id)`` (tool calls), or a callable that answers the request body
    with one of those. ``requests`` holds every request body received. An exhausted queue
    answers HTTP 500 with an OpenAI error body, so the caller sees a provider error, not a hang.
    """

    def __init__(self, script: Sequence[OpenAIItem], model: str = "scripted"):
        self.script: list[OpenAIItem] = list(script)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next(self, body: dict[str, Any]) -> OpenAIAnswer | None:
        with self._lock:
            self.requests.append(body)
            item = self.script.pop(0) if self.script else None
        return item(body) if callable(item) else item

    def _message(self, item: str | list[OpenAIToolCall]) -> dict[str, Any]:
        if isinstance(item, str):
            return {"role": "assistant", "content": item}
        calls = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for name, args, call_id in item
        ]
        return {"role": "assistant", "content": None, "tool_calls": calls}

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL (``.../v1``)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                item = fake._next(body)
                if item is None:
                    error = {"message": "the script is exhausted", "type": "server_error"}
                    return self._json(500, {"error": error})
                message = fake._message(item)
                finish = "tool_calls" if message.get("tool_calls") else "stop"
                usage = {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
                head = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "model": fake.model}
                if body.get("stream"):
                    return self._stream(head, message, finish, usage)
                choice = {"index": 0, "message": message, "finish_reason": finish}
                completion = {"object": "chat.completion", "created": int(time.time())}
                self._json(200, {**head, **completion, "choices": [choice], "usage": usage})

            def _stream(
                self, head: dict[str, Any], message: dict[str, Any], finish: str, usage: Any
            ) -> None:
                delta = dict(message)
                if "tool_calls" in delta:
                    delta["tool_calls"] = [
                        {"index": i, **c} for i, c in enumerate(delta["tool_calls"])
                    ]
                chunks = [
                    {"index": 0, "delta": delta, "finish_reason": None},
                    {"index": 0, "delta": {}, "finish_reason": finish},
                ]
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                base = {**head, "object": "chat.completion.chunk", "created": int(time.time())}
                for choice in chunks:
                    data = json.dumps({**base, "choices": [choice]})
                    self.wfile.write(f"data: {data}\n\n".encode())
                data = json.dumps({**base, "choices": [], "usage": usage})
                self.wfile.write(f"data: {data}\n\ndata: [DONE]\n\n".encode())

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
