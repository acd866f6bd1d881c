"""Chat models by name: ``local:<name>``, ``openai:<model>``, ``anthropic:<model>``.

Models are built on request from injected settings, never at import time. Provider SDK retries
are off (``max_retries=0``): ``agents.resilience`` retries uniformly for every provider.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from waypost.agents.local.weights import LOCAL_MODELS, weights_status
from waypost.observability.pricing import BUILTIN_PRICES, lookup_price
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import ModelPrice, ModelSettings

__all__ = ["PROVIDERS", "ModelInfo", "get_chat_model", "list_models", "parse_model_name"]

PROVIDERS = ("local", "openai", "anthropic")
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")  # reject a temperature parameter


def parse_model_name(name: str) -> tuple[str, str]:
    """``"openai:gpt-4o-mini"`` -> ``("openai", "gpt-4o-mini")``; ConfigError when malformed."""
    provider, sep, model = name.partition(":")
    if not sep or not model or provider not in PROVIDERS:
        raise ConfigError(
            f"model name {name!r} must be '<provider>:<model>' with provider in {PROVIDERS}"
        )
    return provider, model


def get_chat_model(name: str, settings: ModelSettings) -> BaseChatModel:
    """A fresh chat model for ``name``, configured from ``settings`` (cheap: loads lazily)."""
    provider, model = parse_model_name(name)
    if provider == "local":
        from waypost.agents.local.chat import LocalChatModel

        return LocalChatModel.from_settings(model, settings)
    if provider == "openai":
        return _openai(model, settings)
    return _anthropic(model, settings)


def _openai(model: str, settings: ModelSettings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    key = key or os.environ.get("OPENAI_API_KEY")
    if not key:
        if not settings.openai_base_url:
            raise ConfigError(
                f"openai:{model} needs WAYPOST_MODELS__OPENAI_API_KEY (or OPENAI_API_KEY), "
                "or WAYPOST_MODELS__OPENAI_BASE_URL for a keyless OpenAI-compatible server"
            )
        key = "not-needed"  # local OpenAI-compatible servers (llama.cpp, vLLM) ignore it
    extra = {} if model.startswith(_REASONING_PREFIXES) else {"temperature": settings.temperature}
    return ChatOpenAI(
        model=model,
        base_url=settings.openai_base_url,
        api_key=key,
        timeout=settings.timeout_s,
        max_retries=0,
        **extra,
    )


def _anthropic(model: str, settings: ModelSettings) -> BaseChatModel:
    from langchain_anthropic import ChatAnthropic

    key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
    key = key or os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        raise ConfigError(
            f"anthropic:{model} needs WAYPOST_MODELS__ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY)"
        )
    kwargs: dict[str, object] = {}
    if settings.anthropic_base_url:
        kwargs["base_url"] = settings.anthropic_base_url
    return ChatAnthropic(
        model=model,
        api_key=key,
        timeout=settings.timeout_s,
        max_retries=0,
        temperature=settings.temperature,
        **kwargs,
    )


@dataclass(frozen=True)
class ModelInfo:
    """One row of ``waypost models list``."""

    name: str
    provider: str
    available: bool
    reason: str
    weights_path: Path | None = None
    weights_size: int | None = None
    price: ModelPrice | None = None
    description: str = ""
    sha256: str | None = None  # local weights: the pinned hash of the assembled file


def _provider_ready(provider: str, settings: ModelSettings) -> tuple[bool, str]:
    if provider == "openai":
        if settings.openai_api_key or os.environ.get("OPENAI_API_KEY"):
            return True, "api key set"
        if settings.openai_base_url:
            return True, f"base url {settings.openai_base_url}"
        return False, "no OpenAI api key"
    if settings.anthropic_api_key or os.environ.get("ANTHROPIC_API_KEY"):
        return True, "api key set"
    return False, "no Anthropic api key"


def list_models(settings: ModelSettings) -> list[ModelInfo]:
    """Local models (with weight status), priced hosted models and the configured default."""
    infos: list[ModelInfo] = []
    for spec in LOCAL_MODELS.values():
        status = weights_status(spec, settings.cache_dir)
        if status.assembled:
            available, reason = True, "assembled, hash-checked"
        elif status.parts_installed:
            available, reason = True, "parts installed (assembled on first use)"
        else:
            available, reason = False, f"not installed: {spec.install_hint}"
        infos.append(
            ModelInfo(
                name=f"local:{spec.name}",
                provider="local",
                available=available,
                reason=reason,
                weights_path=status.path,
                weights_size=status.size,
                price=lookup_price(f"local:{spec.name}"),
                description=spec.description,
                sha256=spec.sha256,
            )
        )
    hosted = list(dict.fromkeys([*BUILTIN_PRICES, *settings.prices, settings.default]))
    for name in hosted:
        provider, _, _ = name.partition(":")
        if provider not in ("openai", "anthropic"):
            continue
        ready, reason = _provider_ready(provider, settings)
        price = lookup_price(name, settings.prices)
        infos.append(ModelInfo(name, provider, ready, reason, price=price))
    return infos
