"""Registers the command groups; each lives in its own module."""

from __future__ import annotations

import typer

from runtime.errors import ConfigError


def _not_yet(name: str) -> None:
    raise ConfigError(f"`waypost {name}` is not available in this build yet")


def register(app: typer.Typer) -> None:
    from waypost.cli import store as store_cli

    app.add_typer(store_cli.app, name="store")

    from waypost.cli import models as models_cli

    app.add_typer(models_cli.app, name="models")

    @app.command()
    def serve() -> None:
        """Run the HTTP API with in-process workers."""
        _not_yet("serve")

    @app.command()
    def worker() -> None:
        """Run queue workers as a separate process (PostgreSQL)."""
        _not_yet("worker")

    from waypost.cli import run as run_cli

    run_cli.register(app)

    @app.command("eval")
    def eval_() -> None:
        """Run a golden dataset through a workflow and gate regressions."""
        _not_yet("eval")
