"""``LocalChatModel``: the offline GGUF model as a LangChain chat model, via xllamacpp.

Runs llama.cpp in process (one shared server per model file). Tool calling and structured output
use grammar-constrained decoding (JSON schema -> llguidance grammar), so replies always parse.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field
from waypost.agents._json_output import schema_name_and_json, structured_runnable
from waypost.agents.local.protocol import (
    ToolSpec,
    parse_tool_reply,
    resolve_tool_choice,
    to_chat_messages,
    tool_reply_schema,
    tools_system_prompt,
)
from waypost.agents.local.server import LocalServer, ServerOptions, get_server
from waypost.agents.local.weights import ensure_weights, get_local_spec
from waypost.runtime.settings import ModelSettings

__all__ = ["LocalChatModel"]

_DEFAULTS = {
    name: ModelSettings.model_fields[name].default
    for name in ("n_ctx", "parallel_slots", "prompt_cache_mib")
}


class LocalChatModel(BaseChatModel):
    """A bundled GGUF model (``local:<model>``) served by llama.cpp in this process.

    Cheap to construct: weights are assembled and the model loaded on the first call (or
    ``load()``), then shared by every instance pointing at the same file.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = "qwen2.5-coder-0.5b"
    model_path: Path | None = Field(default=None, description="A GGUF file; skips assembly.")
    cache_dir: Path | None = None
    n_ctx: int = Field(default=_DEFAULTS["n_ctx"], description="Tokens per call (per slot).")
    parallel_slots: int = _DEFAULTS["parallel_slots"]
    prompt_cache_mib: int = _DEFAULTS["prompt_cache_mib"]
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 512

    @classmethod
    def from_settings(cls, name: str, settings: ModelSettings) -> LocalChatModel:
        """The model named ``local:<name>`` configured from ``settings.models``."""
        spec = get_local_spec(name)
        return cls(
            model=spec.name,
            cache_dir=settings.cache_dir,
            n_ctx=settings.n_ctx,
            parallel_slots=settings.parallel_slots,
            prompt_cache_mib=settings.prompt_cache_mib,
            n_threads=settings.n_threads,
            temperature=settings.temperature,
        )

    @property
    def _llm_type(self) -> str:
        return "waypost-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "temperature": self.temperature}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(
            ls_provider="local",
            ls_model_name=self.model,
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
            ls_max_tokens=kwargs.get("max_tokens", self.max_tokens),
        )

    def weights_path(self, *, progress: bool = False) -> Path:
        """The GGUF file, assembling it from the installed parts on first use."""
        if self.model_path is not None:
            return self.model_path
        cache = self.cache_dir or ModelSettings().cache_dir
        return ensure_weights(get_local_spec(self.model), cache, progress=progress)

    def load(self, *, progress: bool = False) -> LocalServer:
        """Assemble (once) and load the model now instead of on the first call."""
        return get_server(self.weights_path(progress=progress), self.server_options())

    def server_options(self) -> ServerOptions:
        """How the shared server for this model is loaded: slots, context per slot, threads."""
        return ServerOptions(
            ctx_per_slot=self.n_ctx,
            parallel_slots=self.parallel_slots,
            n_threads=self.n_threads,
            prompt_cache_mib=self.prompt_cache_mib,
        )

    def build_request(
        self, messages: Sequence[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> tuple[dict[str, Any], list[str] | None]:
        """The chat-completions request for ``messages``; tool names when tools are bound."""
        kwargs.pop("ls_structured_output_format", None)
        tools = [ToolSpec.from_openai(t) for t in kwargs.pop("tools", None) or []]
        tool_choice = kwargs.pop("tool_choice", None)
        response_format = kwargs.pop("response_format", None)
        request: dict[str, Any] = {
            "temperature": kwargs.pop("temperature", self.temperature),
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
        }
        if stop:
            request["stop"] = stop
        tool_names: list[str] | None = None
        extra_system: str | None = None
        allowed, allow_final = resolve_tool_choice(tools, tool_choice) if tools else ([], True)
        if allowed:
            if response_format is not None:
                raise ValueError("bind either tools or a response_format, not both")
            tool_names = [t.name for t in allowed]
            extra_system = tools_system_prompt(allowed, allow_final)
            response_format = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": tool_reply_schema(allowed, allow_final)},
            }
        if response_format is not None:
            request["response_format"] = response_format
        request.update(kwargs)
        request["messages"] = to_chat_messages(messages, extra_system)
        return request, tool_names

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, tool_names = self.build_request(messages, stop, **kwargs)
        server = self.load()
        started = time.perf_counter()
        response = server.chat(request)
        latency_ms = (time.perf_counter() - started) * 1000
        choice = response["choices"][0]
        text = choice.get("message", {}).get("content") or ""
        message = parse_tool_reply(text, tool_names) if tool_names is not None else AIMessage(text)
        usage = response.get("usage", {})
        message.usage_metadata = UsageMetadata(
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            total_tokens=int(usage.get("total_tokens", 0)),
            input_token_details={
                "cache_read": int(usage.get("prompt_tokens_details", {}).get("cached_tokens", 0))
            },
        )
        message.response_metadata = {
            "model_name": f"local:{self.model}",
            "model_provider": "local",
            "finish_reason": choice.get("finish_reason"),
            "timings": response.get("timings", {}),
            "latency_ms": latency_ms,
        }
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"token_usage": usage, "model_name": f"local:{self.model}"},
        )

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Tools via constrained JSON: the reply is a call of one tool or a final answer."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Decoding constrained to ``schema`` (response_format json_schema), then validated."""
        kwargs.pop("method", None)
        kwargs.pop("strict", None)
        if kwargs:
            raise ValueError(f"unsupported arguments {sorted(kwargs)}")
        name, json_schema = schema_name_and_json(schema)
        llm = self.bind(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": name, "schema": json_schema},
            },
            ls_structured_output_format={
                "kwargs": {"method": "json_schema"},
                "schema": json_schema,
            },
        )
        return structured_runnable(llm, schema, include_raw=include_raw)
