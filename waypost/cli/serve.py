"""`waypost serve` (HTTP API + in-process workers) and `waypost worker` (queue workers only)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from waypost.cli._common import console, ensure_database, err_console, load_settings
from waypost.graphs.registry import GraphRegistry, default_registry
from waypost.runtime.db import is_sqlite
from waypost.runtime.loop import run as run_loop
from waypost.runtime.settings import Settings

__all__ = ["build_registry", "run_server", "run_worker"]


def build_registry(config: Path | None) -> GraphRegistry:
    """Built-in workflows plus the graphs of a ``langgraph.json`` when given."""
    registry = default_registry()
    if config is not None:
        from waypost.graphs.langgraph_json import register_langgraph_json

        register_langgraph_json(registry, config)
    return registry


def _prepare(config: Path | None) -> tuple[Settings, GraphRegistry]:
    settings = load_settings()
    ensure_database(settings).dispose()
    return settings, build_registry(config)


def run_server(
    host: str | None, port: int | None, config: Path | None, workers: bool, concurrency: int | None
) -> None:
    """Serve the API with uvicorn; the lifespan starts the in-process workers."""
    import uvicorn

    from waypost.api.app import create_app

    settings, registry = _prepare(config)
    app = create_app(settings, registry, workers=workers, concurrency=concurrency)
    host, port = host or settings.api.host, port or settings.api.port
    console.print(
        f"waypost API on [bold]http://{host}:{port}[/bold] "
        f"({len(registry.names())} workflows, workers: {'in-process' if workers else 'none'})"
    )
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())


def run_worker(concurrency: int | None, config: Path | None) -> None:
    """Run queue workers until SIGINT/SIGTERM; in-flight runs go back to the queue."""
    from waypost.server.services import open_services

    settings, registry = _prepare(config)
    if is_sqlite(settings.database.url):
        err_console.print(
            "[yellow]SQLite: `waypost serve` already runs the workers; a separate worker "
            "process is only woken by its safety poll (use PostgreSQL for worker fleets)[/yellow]"
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        async with open_services(
            settings, registry, concurrency=concurrency, api=False
        ) as services:
            assert services.workers is not None
            console.print(
                f"worker {services.workers.owner}: {services.workers.concurrency} slots, "
                f"{len(registry.names())} workflows"
            )
            await stop.wait()
        console.print("worker stopped")

    run_loop(main())
