"""`waypost runs show RUN_ID`: a run's step timeline from the usage ledger, with its trace link.

Reads only our database (``usage_ledger``), so it works with Langfuse off or down; the trace
link is shown when the rows carry a trace id or Langfuse is configured.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.table import Table

from waypost.cli._common import console, ensure_database, load_settings
from waypost.observability.ledger import LedgerEntry, RunTotals, run_entries, run_totals
from waypost.observability.tracing import resolve_config, trace_id_for
from waypost.runtime.db import make_session_factory
from waypost.runtime.errors import NotFound
from waypost.runtime.settings import Settings

__all__ = ["app", "run_report", "trace_url_for"]

app = typer.Typer(help="Inspect runs: step timeline, tokens, cost.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Inspect runs: step timeline, tokens, cost."""


def trace_url_for(settings: Settings, run_id: str, rows: list[LedgerEntry]) -> str | None:
    """The Langfuse link of a run: the recorded trace id, else the one derived from the id."""
    config = resolve_config(settings.langfuse)
    if config is None:
        return None
    trace_id = next((r.trace_id for r in rows if r.trace_id), None) or trace_id_for(run_id)
    return f"{config.base_url}/trace/{trace_id}"


def run_report(settings: Settings, run_id: str) -> tuple[list[LedgerEntry], RunTotals, str | None]:
    """Rows, totals and trace link of ``run_id``; ``NotFound`` when the ledger has no rows."""
    engine = ensure_database(settings)
    try:
        with make_session_factory(engine)() as session:
            rows = run_entries(session, run_id)
            totals = run_totals(session, run_id)
    finally:
        engine.dispose()
    if not rows:
        raise NotFound(f"no ledger rows for run {run_id!r}")
    return rows, totals, trace_url_for(settings, run_id, rows)


@app.command()
def show(
    run_id: str = typer.Argument(..., help="The run id (printed by `waypost run`)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Step timeline of RUN_ID: every LLM and tool call with latency, tokens and cost."""
    settings = load_settings()
    rows, totals, url = run_report(settings, run_id)
    if as_json:
        out = {
            "run_id": run_id,
            "trace_url": url,
            "totals": totals.to_dict(),
            "steps": [
                {
                    "at": r.created_at.isoformat(),
                    "node": r.node,
                    "kind": r.kind,
                    "name": r.name,
                    "latency_ms": r.latency_ms,
                    "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens,
                    "usd": r.usd,
                    "price_known": r.price_known,
                    "status": r.status,
                    "error_code": r.error_code,
                }
                for r in rows
            ],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    first = rows[0]
    table = Table(title=f"run {run_id} · {first.workflow} · thread {first.thread_id}")
    for col, justify in (
        ("+s", "right"),
        ("node", "left"),
        ("call", "left"),
        ("ms", "right"),
        ("tokens in/out", "right"),
        ("USD", "right"),
        ("status", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    t0 = first.created_at
    for r in rows:
        usd = f"{r.usd:.6f}" if r.price_known else "unpriced"
        tokens = f"{r.input_tokens}/{r.output_tokens}" if r.kind == "llm" else ""
        status = r.status if r.status == "ok" else f"[red]{r.status} {r.error_code or ''}[/red]"
        table.add_row(
            f"{(r.created_at - t0).total_seconds():.2f}",
            r.node,
            f"{r.kind}: {r.name}",
            f"{r.latency_ms:.0f}",
            tokens,
            usd if r.kind == "llm" else "",
            status,
        )
    console.print(table)
    priced = "" if totals.all_priced else " [yellow](some models unpriced)[/yellow]"
    console.print(
        f"{totals.llm_calls} LLM calls, {totals.tool_calls} tool calls, {totals.errors} errors · "
        f"tokens {totals.input_tokens}/{totals.output_tokens} · ${totals.usd:.6f}{priced}"
    )
    if url:
        console.print(f"trace: [link={url}]{url}[/link]")
