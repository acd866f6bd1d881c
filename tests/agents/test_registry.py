"""Model names resolve to configured chat models; nothing is built or loaded at import."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from waypost.agents.local.chat import LocalChatModel
from waypost.agents.registry import get_chat_model, list_models, parse_model_name
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import ModelSettings

AGENTS = Path(__file__).resolve().parents[2] / "agents"


def test_parse_model_name() -> None:
    assert parse_model_name("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    for bad in ("gpt-4o", "azure:x", "openai:"):
        with pytest.raises(ConfigError):
            parse_model_name(bad)


def test_local_model_is_lazy(tmp_path: Path) -> None:
    model = get_chat_model("local:qwen2.5-coder-0.5b", ModelSettings(cache_dir=tmp_path))
    assert isinstance(model, LocalChatModel)
    assert list(tmp_path.iterdir()) == []  # nothing assembled until the first call


def test_openai_uses_base_url_timeout_and_no_sdk_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = ModelSettings(openai_base_url="http://127.0.0.1:9/v1", timeout_s=7)
    model = get_chat_model("openai:qwen-local", settings)
    assert model.openai_api_base == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert model.max_retries == 0 and model.request_timeout == 7  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        get_chat_model("openai:gpt-4o", ModelSettings())


def test_anthropic_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        get_chat_model("anthropic:claude-haiku-4-5", ModelSettings())
    model = get_chat_model(
        "anthropic:claude-haiku-4-5", ModelSettings(anthropic_api_key=SecretStr("sk-test"))
    )
    assert model.max_retries == 0  # type: ignore[attr-defined]


def test_list_models_reports_availability(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    infos = {i.name: i for i in list_models(ModelSettings(cache_dir=tmp_path))}
    local = infos["local:qwen2.5-coder-0.5b"]
    assert local.available and local.weights_size == 491_400_064
    assert infos["openai:gpt-4o-mini"].available is False
    assert infos["openai:gpt-4o-mini"].price is not None
