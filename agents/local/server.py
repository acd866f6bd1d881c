"""One in-process llama.cpp server (xllamacpp) per model file, shared by every caller.

Loading a GGUF takes seconds and hundreds of megabytes, so servers are cached per resolved path
for the life of the process. ``handle_chat_completions`` releases the GIL and queues requests
across its slots, so callers on many threads can share one server.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xllamacpp
from waypost.runtime.errors import ModelTimeout, ProviderError

__all__ = ["LocalServer", "ServerOptions", "get_server"]


@dataclass(frozen=True)
class ServerOptions:
    """How a model file is loaded; the first caller's options win for a given file."""

    n_ctx: int = 8192
    n_threads: int | None = None
    n_parallel: int = 1
    verbosity: int = -1  # quiet: llama.cpp logs every slot otherwise


class LocalServer:
    """A loaded model answering OpenAI-style chat-completion dicts."""

    def __init__(self, path: Path, options: ServerOptions) -> None:
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = options.n_ctx
        params.n_parallel = options.n_parallel
        threads = options.n_threads or os.cpu_count() or 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = options.verbosity
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
            raise ProviderError(
                f"local model error: {message}", status=status, retryable=status >= 500
            )
        return response


_servers: dict[Path, LocalServer] = {}
_lock = threading.Lock()


def get_server(path: Path, options: ServerOptions | None = None) -> LocalServer:
    """The process-wide server for ``path``, loading it on first use (thread-safe)."""
    key = Path(path).resolve()
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = LocalServer(key, options or ServerOptions())
            _servers[key] = server
        return server
