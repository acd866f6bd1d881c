"""One Langfuse client per configuration and process, with bounded flush and shutdown.

Spans are exported by a background thread (OpenTelemetry's batch processor), so a run never
waits for Langfuse. Two things in the SDK can block without bound and are kept off the run
path: ``force_flush`` ignores its timeout and exports in the calling thread, and the SDK's
``atexit`` hook flushes the same way. Here every flush and shutdown runs in a daemon thread
that we wait for at most ``flush_timeout_s``; the SDK's own ``atexit`` hook is replaced.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from langfuse import Langfuse
from langfuse._client.resource_manager import LangfuseResourceManager
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from waypost.observability.tracing._masking import make_masker, make_span_masker
from waypost.runtime.settings import LangfuseSettings

__all__ = [
    "LangfuseConfig",
    "TracingClient",
    "close_tracing",
    "get_tracing_client",
    "resolve_config",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LangfuseConfig:
    """Resolved Langfuse connection and masking settings (hashable: the client cache key)."""

    public_key: str
    secret_key: str
    base_url: str
    environment: str
    timeout_s: float
    flush_timeout_s: float
    mask_patterns: tuple[tuple[str, str], ...] = ()
    mask_keys: tuple[str, ...] = ()
    mask_defaults: bool = True


def resolve_config(
    settings: LangfuseSettings, env: Mapping[str, str] | None = None
) -> LangfuseConfig | None:
    """The effective config: settings first, then ``LANGFUSE_*`` variables; None when off."""
    env = os.environ if env is None else env
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    public_key = settings.public_key or env.get("LANGFUSE_PUBLIC_KEY")
    secret_key = secret or env.get("LANGFUSE_SECRET_KEY")
    base_url = settings.base_url or env.get("LANGFUSE_BASE_URL") or env.get("LANGFUSE_HOST")
    if not (public_key and secret_key and base_url):
        return None
    return LangfuseConfig(
        public_key=public_key,
        secret_key=secret_key,
        base_url=base_url.rstrip("/"),
        environment=settings.environment,
        timeout_s=settings.timeout_s,
        flush_timeout_s=settings.flush_timeout_s,
        mask_patterns=tuple(sorted(settings.mask_patterns.items())),
        mask_keys=tuple(settings.mask_keys),
        mask_defaults=settings.mask_defaults,
    )


class TracingClient:
    """A Langfuse client on a tracer provider of its own (the global OTel one is untouched)."""

    def __init__(self, config: LangfuseConfig) -> None:
        self.config = config
        self.provider = TracerProvider(
            resource=Resource.create(
                {"service.name": "waypost", "langfuse.environment": config.environment}
            ),
            shutdown_on_exit=False,
        )
        masker = make_masker(
            dict(config.mask_patterns), config.mask_keys, defaults=config.mask_defaults
        )
        self.langfuse = Langfuse(
            public_key=config.public_key,
            secret_key=config.secret_key,
            base_url=config.base_url,
            # the SDK types this as int seconds but passes it on to httpx and the OTLP exporter,
            # which take float seconds: each export attempt is bounded by it
            timeout=cast(Any, config.timeout_s),
            environment=config.environment,
            mask=masker,
            mask_otel_spans=make_span_masker(masker),
            tracer_provider=self.provider,
        )
        resources = getattr(self.langfuse, "_resources", None)
        if resources is not None:  # replace the SDK's unbounded atexit flush with ours
            atexit.unregister(resources.shutdown)
        self._closed = False

    def flush(self, timeout_s: float | None = None) -> bool:
        """Export what is queued, waiting at most ``timeout_s``; True when it finished."""
        return _bounded(
            self.provider.force_flush, timeout_s or self.config.flush_timeout_s, "flush"
        )

    def close(self, timeout_s: float | None = None) -> bool:
        """Flush and stop the client's threads, waiting at most ``timeout_s``."""
        thread = self.start_close()
        thread.join(timeout_s or self.config.flush_timeout_s)
        return _finished(thread, "shutdown")

    def start_close(self) -> threading.Thread:
        """Begin closing in a daemon thread (so several clients can close in parallel)."""

        def shutdown() -> None:
            if self._closed:
                return
            self._closed = True
            self.langfuse.shutdown()
            self.provider.shutdown()

        thread = _start(shutdown, "shutdown")
        with LangfuseResourceManager._lock:  # forget the SDK's per-public-key singleton
            LangfuseResourceManager._instances.pop(self.config.public_key, None)
        return thread


def _start(fn: Any, what: str) -> threading.Thread:
    def target() -> None:
        try:
            fn()
        except Exception as exc:  # logged; never escapes the thread
            _log.warning("Langfuse %s failed: %s", what, exc)

    thread = threading.Thread(target=target, name=f"waypost-langfuse-{what}", daemon=True)
    thread.start()
    return thread


def _finished(thread: threading.Thread, what: str) -> bool:
    if thread.is_alive():
        _log.warning("Langfuse %s did not finish in time; continuing without it", what)
        return False
    return True


def _bounded(fn: Any, timeout_s: float, what: str) -> bool:
    thread = _start(fn, what)
    thread.join(timeout_s)
    return _finished(thread, what)


# by public key: the SDK keeps one set of resources per public key, whatever else differs
_clients: dict[str, TracingClient] = {}
_lock = threading.Lock()


def get_tracing_client(config: LangfuseConfig) -> TracingClient:
    """The process's client for ``config``, created on first use (or when it changed)."""
    with _lock:
        client = _clients.get(config.public_key)
        if client is not None and client.config != config:
            client.start_close()  # settings changed: retire the old client in the background
            client = None
        if client is None:
            if not _clients:
                atexit.register(close_tracing)
            client = _clients[config.public_key] = TracingClient(config)
        return client


def close_tracing(timeout_s: float | None = None) -> None:
    """Flush and close every client in parallel (at exit, on API shutdown, in tests).

    Waits at most ``timeout_s`` in total (default: the largest ``flush_timeout_s``).
    """
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    if not clients:
        return
    bound = timeout_s or max(c.config.flush_timeout_s for c in clients)
    deadline = time.monotonic() + bound
    threads = [c.start_close() for c in clients]
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for thread in threads:
        _finished(thread, "shutdown")
