"""One in-process llama.cpp server (xllamacpp) per model file and options, shared by every caller.

Loading a GGUF takes seconds and hundreds of megabytes, so servers are cached per resolved path
(and options) for the life of the process. ``handle_chat_completions`` releases the GIL, so
callers on many threads share one server: llama.cpp decodes up to ``parallel_slots`` calls
together (continuous batching: a call joins the running batch as soon as a slot is free; more
calls queue), which on a CPU raises aggregate tokens/s because every decoding step reads the
weights once for the whole batch. Each slot owns ``ctx_per_slot`` tokens of the KV cache. Prompt
caching keeps each slot's last prompt, and a host-memory cache (``prompt_cache_mib``) restores a
saved prompt into any slot, so the shared system prompt/policy prefix of a workflow is processed
once, not once per call.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xllamacpp
from waypost.runtime.errors import ModelTimeout, ProviderError

__all__ = ["LocalServer", "ServerOptions", "get_server", "server_params"]


@dataclass(frozen=True)
class ServerOptions:
    """How a model file is loaded (one server per distinct options)."""

    ctx_per_slot: int  # tokens one call may use: prompt + reply
    parallel_slots: int
    n_threads: int | None = None  # None: every core
    prompt_cache_mib: int = 0  # host-memory prompt cache shared by the slots; 0 disables
    verbosity: int = -1  # quiet: llama.cpp logs every slot otherwise

    @property
    def n_ctx(self) -> int:
        """The whole KV cache: llama.cpp splits it evenly across the slots."""
        return self.ctx_per_slot * self.parallel_slots


def server_params(path: Path, options: ServerOptions) -> xllamacpp.CommonParams:
    """The llama.cpp parameters for ``options`` (pure: unit-tested without loading anything)."""
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = options.parallel_slots
    params.n_ctx = options.n_ctx
    # Separate per-slot caches (not one unified pool): every call is guaranteed ctx_per_slot
    # tokens, so a long prompt cannot run another call out of context mid-generation.
    params.kv_unified = False
    params.cont_batching = True
    params.cache_prompt = True
    params.cache_ram_mib = options.prompt_cache_mib
    params.endpoint_metrics = True  # busy slots per decode, tokens: see LocalServer.metrics()
    threads = options.n_threads or os.cpu_count() or 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = options.verbosity
    return params


class LocalServer:
    """A loaded model answering OpenAI-style chat-completion dicts."""

    def __init__(self, path: Path, options: ServerOptions) -> None:
        params = server_params(path, options)
        # xllamacpp always opens an OpenAI-compatible HTTP listener too: keep it on loopback and
        # behind a per-process random key (in-process calls do not need it).
        params.hostnames = ["127.0.0.1"]
        self.api_key = secrets.token_urlsafe(24)
        params.api_keys = [self.api_key]
        try:
            self._server = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp raises a bare Exception on load failures
            raise ProviderError(f"could not load local model {path}: {exc}") from exc
        self.path = path
        self.options = options

    @property
    def listening_address(self) -> str:
        """The loopback OpenAI-compatible endpoint (``http://host:port``); needs ``api_key``."""
        return str(self._server.listening_address)

    def metrics(self) -> dict[str, float]:
        """llama.cpp's counters without the ``llamacpp:`` prefix, e.g. ``n_busy_slots_per_decode``
        (average calls decoded together), ``tokens_predicted_total``, ``requests_deferred``."""
        text = self._server.handle_metrics()
        out: dict[str, float] = {}
        for line in str(text).splitlines():
            name, _, value = line.partition(" ")
            if name.startswith("llamacpp:"):
                with contextlib.suppress(ValueError):
                    out[name.removeprefix("llamacpp:")] = float(value)
        return out

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """One non-streaming chat completion; errors become ProviderError/ModelTimeout."""
        try:
            response = self._server.handle_chat_completions(request)
        except ValueError as exc:  # malformed request or schema xllamacpp cannot compile
            raise ProviderError(f"local model rejected the request: {exc}", status=400) from exc
        if not isinstance(response, dict):
            raise ProviderError(f"local model returned {type(response).__name__}, not a dict")
        error = response.get("error")
        if error:
            status = int(error.get("code") or 500) if isinstance(error, dict) else 500
            message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
            if status == 408:
                raise ModelTimeout(f"local model timed out: {message}")
            if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
                raise ProviderError(
                    f"prompt of {error.get('n_prompt_tokens')} tokens exceeds the "
                    f"{error.get('n_ctx')}-token context of a slot of {self.path.name}; "
                    "raise WAYPOST_MODELS__N_CTX (tokens per call)",
                    status=400,
                )
            raise ProviderError(
                f"local model error: {message}", status=status, retryable=status >= 500
            )
        return response


_servers: dict[tuple[Path, ServerOptions], LocalServer] = {}
_lock = threading.Lock()


def get_server(path: Path, options: ServerOptions) -> LocalServer:
    """The process-wide server for ``path`` and ``options``, loaded on first use (thread-safe).

    Models built from the same settings share one server; different options (a test asking for
    other slots) get their own.
    """
    key = (Path(path).resolve(), options)
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = LocalServer(*key)
            _servers[key] = server
        return server
