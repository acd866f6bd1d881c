"""``waypost eval``: the typer command writes a baseline, then exits 1 on a planted regression."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from tests.evals.conftest import SMOKE
from waypost.cli import eval as eval_cli


def _app() -> typer.Typer:
    app = typer.Typer()
    eval_cli.register(app)

    @app.command()
    def noop() -> None:  # a second command keeps `eval` a named subcommand
        """Nothing."""

    return app


def test_eval_command_gates_and_prints_flipped_cases(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(eval_cli, "load_settings", lambda: settings)
    runner = CliRunner()
    args = [
        "eval",
        "retail_support",
        "--dataset",
        str(SMOKE),
        "--model",
        "scripted:naive",
        "--baseline",
        str(tmp_path / "b.json"),
        "--out",
        str(tmp_path),
        "--no-progress",
        "--no-store",
    ]
    first = runner.invoke(_app(), [*args, "--write-baseline"], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "baseline written" in first.output

    monkeypatch.setattr("waypost.domains.retail.graph.validate_plan", lambda *a, **k: [])
    second = runner.invoke(_app(), args, env={"COLUMNS": "200"})
    assert second.exit_code == 1, second.output
    assert "pass -> fail" in second.output and "refuse-cancel-delivered" in second.output

    bad = runner.invoke(_app(), [*args[:2], "--approvals", "maybe"])
    assert bad.exit_code != 0
