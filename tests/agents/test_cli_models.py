"""`waypost models ...` commands (no model load here: see test_local_model for that)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner
from waypost.agents.registry import list_models
from waypost.runtime.settings import ModelSettings, get_settings

from waypost.cli.models import app

runner = CliRunner()


def test_list_shows_local_and_hosted_models() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "local:qwen2.5-coder-0.5b" in result.output
    assert "openai:gpt-4o-mini" in result.output


def test_list_says_how_to_install_a_model_that_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [info] = [
        i for i in list_models(ModelSettings(cache_dir=tmp_path)) if i.name.endswith("coder-1.5b")
    ]
    assert info.sha256 and info.sha256.startswith("cc324af0")
    assert info.weights_size == 1_117_320_768
    if not info.available:  # unless the parts are installed in this environment
        assert info.reason == "not installed: waypost models install local:qwen2.5-coder-1.5b"

    monkeypatch.setenv("WAYPOST_MODELS__CACHE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "cc324af070c2..." in result.output and "1d9614638d18..." in result.output


def test_install_of_an_unknown_model_is_a_clear_error() -> None:
    result = runner.invoke(app, ["install", "local:nope"])
    assert result.exit_code == 2
    assert "unknown local model" in result.output


@pytest.mark.local_model
def test_check_loads_the_default_model_and_reports_weights_and_speed() -> None:
    result = runner.invoke(app, ["check", "local:qwen2.5-coder-0.5b"])
    assert result.exit_code == 0, result.output
    assert "sha256 1d9614638d18..." in result.output and "slots x" in result.output
    assert "valid _Capital(" in result.output
    assert "generation" in result.output and "tok/s" in result.output
