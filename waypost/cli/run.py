"""`waypost run` and `waypost demo`: run a workflow in this process, step by step.

Uses the embedded default (the configured database, the official SQLite/PostgreSQL
checkpointer on it, the configured model) and shows each step as it happens. At an approval
it asks y/n, or answers non-interactively with --approve / --reject / --approve-all.
"""

from __future__ import annotations

import getpass
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import typer
from langgraph.types import Command
from rich.panel import Panel
from rich.prompt import Confirm
from rich.table import Table

from waypost.cli._common import console, ensure_database, err_console, load_settings
from waypost.graphs.registry import GraphDeps, default_registry
from waypost.observability.ledger import LedgerWriter, RunContext
from waypost.observability.metrics import default_metrics
from waypost.observability.tracing import ApprovalDecision, resolve_config, trace_id_for, trace_run
from waypost.observability.usage import UsageCollector
from waypost.runtime.checkpoint import open_checkpointer
from waypost.runtime.db import make_session_factory
from waypost.runtime.errors import ConfigError, ValidationFailed
from waypost.runtime.models import utcnow
from waypost.runtime.settings import Settings

__all__ = ["execute_locally", "parse_input"]


def parse_input(value: str) -> dict[str, Any]:
    """``--input`` is a JSON object or a path to a JSON file."""
    text = value
    path = Path(value)
    if not value.lstrip().startswith("{") and path.exists():
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"--input is neither a JSON object nor a readable JSON file: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed("--input must be a JSON object")
    return data


def execute_locally(
    settings: Settings,
    workflow: str,
    payload: dict[str, Any],
    *,
    decide: Any,
    quiet: bool = False,
    thread_id: str | None = None,
) -> dict[str, Any]:
    """Run ``workflow`` to the end, asking ``decide(interrupt_value) -> resume value`` at each
    approval (``None`` stops there). Returns the final state values plus ``thread_id``."""
    engine = ensure_database(settings)
    registry = default_registry()
    spec = registry.get(workflow)
    if spec.input_schema is not None:
        try:
            payload = spec.input_schema.model_validate(payload).model_dump(mode="json")
        except Exception as exc:
            raise ValidationFailed(f"invalid input for {workflow}: {exc}") from exc
    thread_id = thread_id or str(uuid.uuid4())
    run_id = str(uuid.uuid4())
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}
    factory = make_session_factory(engine)
    metrics = default_metrics()
    # one ledger row per LLM/tool call, and one Langfuse trace for the run and its resumes
    trace_id = trace_id_for(run_id) if resolve_config(settings.langfuse) else None
    writer = LedgerWriter(
        factory,
        RunContext(run_id=run_id, thread_id=thread_id, workflow=workflow, trace_id=trace_id),
        observers=[metrics.observe_ledger],
    )
    collector = UsageCollector(sink=writer, prices=settings.models.prices)
    traced: dict[str, Any] = dict(
        run_key=run_id,
        thread_id=thread_id,
        workflow=workflow,
        user_id=getpass.getuser(),
        run_id=run_id,
        assistant=workflow,
        version=spec.version,
        ledger=collector,
        metrics=metrics,
    )
    trace_url: str | None = None
    approval: ApprovalDecision | None = None
    with open_checkpointer(settings.database.url) as saver:
        deps = GraphDeps(settings=settings, checkpointer=saver, session_factory=factory)
        with console.status("[dim]preparing workflow[/dim]", spinner="dots"):
            graph = spec.build(deps)
        pending: Any = payload
        while True:
            interrupted: list[Any] = []
            with trace_run(settings, approval=approval, **traced) as tracing:
                trace_url = tracing.trace_url
                for chunk in graph.stream(pending, tracing.config(config), stream_mode="updates"):
                    for node, update in chunk.items():
                        if node == "__interrupt__":
                            interrupted.extend(update)
                            continue
                        if not quiet:
                            line = spec.describe_step(node, update) if spec.describe_step else ""
                            console.print(f"[green]✓[/green] [bold]{node}[/bold] {line}")
                if interrupted:
                    tracing.approval_requested(interrupted[0].value)
                tracing.flush()  # bounded by settings.langfuse.flush_timeout_s
            if not interrupted:
                break
            value = interrupted[0].value
            requested_at = utcnow()
            answer = decide(value)
            if answer is None:
                state = graph.get_state(config).values
                return {
                    **state,
                    "status": "interrupted",
                    "thread_id": thread_id,
                    "run_id": run_id,
                    "trace_url": trace_url,
                    "pending_approval": value,
                }
            approval = _decision(answer, value, requested_at)
            pending = Command(resume=answer)
        state = dict(graph.get_state(config).values)
    engine.dispose()
    return {**state, "thread_id": thread_id, "run_id": run_id, "trace_url": trace_url}


def _decision(answer: Any, action: Any, requested_at: Any) -> ApprovalDecision:
    info = answer if isinstance(answer, dict) else {"decision": str(answer)}
    return ApprovalDecision(
        decision=str(info.get("decision", "")),
        decided_by=info.get("decided_by"),
        comment=info.get("comment"),
        requested_at=requested_at,
        decided_at=utcnow(),
        action=action,
    )


def _show_approval(value: dict[str, Any]) -> None:
    body = (
        f"[bold]{value.get('summary')}[/bold]\n\ntool: {value.get('tool')} "
        f"(risk: {value.get('risk')})\narguments: {json.dumps(value.get('arguments'))}"
    )
    if value.get("policy"):
        body += f"\npolicy: {value['policy']}"
    for key, item in (value.get("details") or {}).items():
        if item is not None:
            body += f"\n{key.replace('_', ' ')}: {item}"
    if value.get("error"):
        body += f"\n[red]{value['error']}[/red]"
    console.print(Panel(body, title="approval needed", border_style="yellow"))


def make_decider(*, approve: bool, reject: bool, interactive: bool, quiet: bool) -> Any:
    def decide(value: Any) -> Any:
        if not quiet:
            _show_approval(value if isinstance(value, dict) else {"summary": str(value)})
        if approve:
            return {"decision": "approve", "decided_by": "cli"}
        if reject:
            return {"decision": "reject", "comment": "rejected from the CLI", "decided_by": "cli"}
        if interactive:
            ok = Confirm.ask("Approve this action?", default=False)
            return {"decision": "approve" if ok else "reject", "decided_by": "cli"}
        return None

    return decide


def print_result(result: dict[str, Any], *, as_json: bool) -> None:
    executed = [e for e in result.get("executed", []) if e.get("ok")]
    out = {
        "status": result.get("status"),
        "thread_id": result.get("thread_id"),
        "user_id": result.get("user_id"),
        "actions_executed": [{"tool": e["tool"], "arguments": e["arguments"]} for e in executed],
        "actions_rejected": [d for d in result.get("decisions", []) if d["decision"] == "reject"],
        "reply": result.get("reply"),
        "run_id": result.get("run_id"),
        "trace_url": result.get("trace_url"),
        "pending_approval": result.get("pending_approval"),
        "steps": result.get("steps", []),
    }
    if as_json:
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return
    table = Table(title="steps", show_lines=False)
    for col in ("step", "latency ms", "model", "tokens in/out"):
        table.add_column(col)
    for s in out["steps"]:
        tokens = f"{s.get('input_tokens', 0)}/{s.get('output_tokens', 0)}" if s.get("model") else ""
        table.add_row(s["step"], f"{s['latency_ms']:.0f}", s.get("model") or "", tokens)
    console.print(table)
    pending = out["pending_approval"]
    if out["status"] == "interrupted" and isinstance(pending, dict):
        console.print(
            Panel(
                f"Waiting for approval: {pending.get('summary')}\n"
                f"Answer with --approve / --reject, or run in a terminal to be asked "
                f"(thread {out['thread_id']}).",
                title="paused",
                border_style="yellow",
            )
        )
    else:
        console.print(
            Panel(str(out["reply"] or ""), title=f"reply ({out['status']})", border_style="cyan")
        )
    if out["run_id"]:
        console.print(f"[dim]run {out['run_id']} (waypost runs show {out['run_id']})[/dim]")
    if out["trace_url"]:
        console.print(f"trace: [link={out['trace_url']}]{out['trace_url']}[/link]")


def _with_model(settings: Settings, model: str | None) -> Settings:
    """``--model``: one model for every LLM step of the run."""
    if not model:
        return settings
    return settings.model_copy(
        update={"models": settings.models.model_copy(update={"default": model})}
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        workflow: str = typer.Argument(..., help="Workflow name, e.g. retail_support."),
        input_: str = typer.Option(
            ..., "--input", "-i", help="JSON object or path to a JSON file."
        ),
        approve_all: bool = typer.Option(False, "--approve-all", help="Approve every action."),
        reject_all: bool = typer.Option(False, "--reject-all", help="Reject every action."),
        model: str | None = typer.Option(None, "--model", help="Model for every LLM step."),
        thread: str | None = typer.Option(None, "--thread", help="Thread id (default: new)."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Run WORKFLOW once in this process; stops at approvals unless told how to answer."""
        settings = _with_model(load_settings(), model)
        payload = parse_input(input_)
        decide = make_decider(
            approve=approve_all,
            reject=reject_all,
            interactive=sys.stdin.isatty() and not as_json,
            quiet=as_json,
        )
        result = execute_locally(
            settings, workflow, payload, decide=decide, quiet=as_json, thread_id=thread
        )
        print_result(result, as_json=as_json)

    @app.command()
    def demo(
        approve: bool = typer.Option(False, "--approve", help="Approve without asking."),
        reject: bool = typer.Option(False, "--reject", help="Reject without asking."),
        model: str | None = typer.Option(None, "--model", help="Model for every LLM step."),
        message: str | None = typer.Option(None, "--message", help="Your own case text."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """The first installed domain's demo (retail: seeds the demo store, runs a sample case)."""
        from waypost.graphs.plugins import load_domains, load_object

        domain = next((d for d in load_domains() if d.demo), None)
        if domain is None or domain.demo is None:
            raise ConfigError("no installed domain has a demo")
        settings = _with_model(load_settings(), model)
        engine = ensure_database(settings)
        try:
            case = load_object(domain.demo)(make_session_factory(engine), message)
        finally:
            engine.dispose()
        if not as_json:
            if case.notice:
                err_console.print(f"[dim]{case.notice}[/dim]")
            console.print(Panel(case.text, title="customer", border_style="blue"))
        decide = make_decider(
            approve=approve,
            reject=reject,
            interactive=sys.stdin.isatty() and not as_json,
            quiet=as_json,
        )
        result = execute_locally(
            settings, case.workflow, case.payload, decide=decide, quiet=as_json
        )
        print_result(result, as_json=as_json)
