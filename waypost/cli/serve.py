"""`waypost serve` (HTTP API + in-process workers) and `waypost worker` (queue workers only)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
from pathlib import Path
from typing import Any

from waypost.cli._common import console, ensure_database, err_console, load_settings
from waypost.graphs.registry import GraphRegistry, default_registry
from waypost.runtime.db import is_sqlite, make_engine, make_session_factory
from waypost.runtime.errors import ConfigError
from waypost.runtime.loop import run as run_loop
from waypost.runtime.settings import Settings
from waypost.server.identity import IdentityStore

__all__ = ["build_registry", "check_exposure", "load_custom_auth", "run_server", "run_worker"]


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


def load_custom_auth(config: Path | None) -> Any:
    """The ``langgraph_sdk.Auth`` object a ``langgraph.json`` names, if any."""
    if config is None:
        return None
    from waypost.api.custom_auth import load_auth
    from waypost.graphs.langgraph_json import auth_reference

    found = auth_reference(config)
    return load_auth(*found) if found is not None else None


def check_exposure(settings: Settings, host: str, *, custom_auth: bool, insecure: bool) -> str:
    """Refuse to serve without credentials beyond loopback or in production; say what holds."""
    engine = make_engine(settings.database)
    try:
        keys = IdentityStore(make_session_factory(engine), cache_s=0).any_key()
    finally:
        engine.dispose()
    if custom_auth:
        return "auth: the custom langgraph_sdk.Auth of langgraph.json"
    if keys or settings.api.require_auth:
        return "auth: API keys (x-api-key or Authorization: Bearer)"
    exposed = not _loopback(host) or settings.env == "production"
    if exposed and not insecure:
        raise ConfigError(
            f"refusing to serve {host} ({settings.env}) without authentication: create a key "
            "first with `waypost tenants create T` and `waypost keys create --tenant T --role "
            "admin` (or `--tenant default`), or pass --insecure to serve anyway"
        )
    return (
        "[yellow]auth: none (no API key exists): every caller is an anonymous admin"
        + ("" if not exposed else " ON A NON-LOOPBACK ADDRESS (--insecure)")
        + "[/yellow]"
    )


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run_server(
    host: str | None,
    port: int | None,
    config: Path | None,
    workers: bool,
    concurrency: int | None,
    *,
    insecure: bool = False,
) -> None:
    """Serve the API with uvicorn; the lifespan starts the in-process workers."""
    import uvicorn

    from waypost.api.app import create_app

    settings, registry = _prepare(config)
    host, port = host or settings.api.host, port or settings.api.port
    custom = load_custom_auth(config)
    mode = check_exposure(settings, host, custom_auth=custom is not None, insecure=insecure)
    if host not in settings.api.allowed_hosts:
        api = settings.api.model_copy(update={"host": host})
        settings = settings.model_copy(update={"api": api})
    app = create_app(settings, registry, workers=workers, concurrency=concurrency, auth=custom)
    console.print(
        f"waypost API on [bold]http://{host}:{port}[/bold] "
        f"({len(registry.names())} workflows, workers: {'in-process' if workers else 'none'})"
    )
    console.print(mode)
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
