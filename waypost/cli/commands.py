"""Registers the command groups; each lives in its own module."""

from __future__ import annotations

import typer

from runtime.errors import ConfigError


def _not_yet(name: str) -> None:
    raise ConfigError(f"`waypost {name}` is not available in this build yet")


def register(app: typer.Typer) -> None:
    @app.command()
    def serve() -> None:
        """Run the HTTP API with in-process workers."""
        _not_yet("serve")

    @app.command()
    def worker() -> None:
        """Run queue workers as a separate process (PostgreSQL)."""
        _not_yet("worker")

    @app.command()
    def run() -> None:
        """Run a workflow once from the command line."""
        _not_yet("run")

    @app.command("eval")
    def eval_() -> None:
        """Run a golden dataset through a workflow and gate regressions."""
        _not_yet("eval")

    @app.command()
    def demo() -> None:
        """Run the main demo on the embedded default."""
        _not_yet("demo")
