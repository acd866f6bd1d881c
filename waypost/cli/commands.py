"""Registers the command groups; each lives in its own module."""

from __future__ import annotations

from pathlib import Path

import typer

from waypost.runtime.errors import ConfigError


def _not_yet(name: str) -> None:
    raise ConfigError(f"`waypost {name}` is not available in this build yet")


def register(app: typer.Typer) -> None:
    from waypost.graphs.plugins import load_domains, load_object

    for domain in load_domains():  # a domain's own command groups (retail: `waypost store`)
        for name, ref in domain.commands.items():
            app.add_typer(load_object(ref), name=name)

    from waypost.cli import models as models_cli

    app.add_typer(models_cli.app, name="models")

    from waypost.cli import docs as docs_cli

    app.add_typer(docs_cli.app, name="docs")

    from waypost.cli import runs as runs_cli

    app.add_typer(runs_cli.app, name="runs")

    from waypost.cli import identity as identity_cli

    app.add_typer(identity_cli.tenants_app, name="tenants")
    app.add_typer(identity_cli.keys_app, name="keys")

    @app.command()
    def serve(
        host: str | None = typer.Option(None, help="Bind address (default: settings.api.host)."),
        port: int | None = typer.Option(None, help="Port (default: settings.api.port)."),
        config: Path | None = typer.Option(None, help="A langgraph.json with extra graphs."),
        workers: bool = typer.Option(True, help="Run queue workers in this process."),
        concurrency: int | None = typer.Option(None, help="In-process worker slots."),
        insecure: bool = typer.Option(
            False, "--insecure", help="Serve without credentials on a non-loopback bind."
        ),
    ) -> None:
        """Run the HTTP API with in-process workers."""
        from waypost.cli.serve import run_server

        run_server(host, port, config, workers, concurrency, insecure=insecure)

    @app.command()
    def worker(
        concurrency: int | None = typer.Option(None, help="Runs executed at once."),
        config: Path | None = typer.Option(None, help="A langgraph.json with extra graphs."),
    ) -> None:
        """Run queue workers as a separate process (PostgreSQL)."""
        from waypost.cli.serve import run_worker

        run_worker(concurrency, config)

    from waypost.cli import run as run_cli

    run_cli.register(app)

    from waypost.cli import eval as eval_cli

    eval_cli.register(app)
