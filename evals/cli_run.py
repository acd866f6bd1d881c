"""One eval run end to end: load, run, score, write, store, gate (what ``waypost eval`` calls)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from rich.console import Console
from waypost.agents.routing import RoutingTable
from waypost.evals.approvals import ApprovalMode, ApprovalPolicy
from waypost.evals.dataset import EvalCase, load_dataset
from waypost.evals.gate import GateResult, check_gate, read_baseline, write_baseline
from waypost.evals.models import model_setup
from waypost.evals.runner import CaseResult, run_cases
from waypost.evals.scorecard import Scorecard, build_scorecard, print_scorecard, write_scorecard
from waypost.evals.workflows import get_workflow
from waypost.runtime.settings import Settings

__all__ = ["PROJECT_ROOT", "EvalOptions", "EvalOutcome", "run_eval"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class EvalOptions:
    workflow: str
    dataset: str
    model: str | None = None
    baseline: Path | None = None
    write_baseline: bool = False
    limit: int | None = None
    concurrency: int = 4
    approvals: ApprovalMode = "case"
    out_dir: Path | None = None
    store: bool = True
    progress: bool = True
    langfuse: bool = True
    planner: str = "model"
    turns: int = 1
    tenant: str = "default"  # who owns the stored scorecard
    knowledge: bool = True  # retail_support answers catalogue questions from its collection
    routing: RoutingTable | None = None  # per-step models (``--routing``, a sweep assignment)
    assignment: str | None = None  # the sweep assignment's name


@dataclass
class EvalOutcome:
    card: Scorecard
    paths: tuple[Path, Path]
    gate: GateResult | None
    exit_code: int


def _dataset_root(spec: str) -> Path:
    """Relative dataset paths resolve against the working directory, else the project root."""
    raw = spec.removeprefix("tau2:")
    return Path.cwd() if (Path.cwd() / raw).exists() else PROJECT_ROOT


def run_eval(
    options: EvalOptions,
    settings: Settings,
    console: Console,
    *,
    chat_factory: Callable[[str], BaseChatModel] | None = None,
) -> EvalOutcome:
    """Run, score, write and gate; ``exit_code`` is 1 when the gate finds a regression.

    ``chat_factory`` (model name -> chat model) replaces the model registry, e.g. in tests."""
    cases = load_dataset(options.dataset, root=_dataset_root(options.dataset), limit=options.limit)
    models = model_setup(
        options.model,
        settings,
        chat_factory,
        routing=options.routing,
        workflow=options.workflow,
    )
    workflow = get_workflow(options.workflow, planner=options.planner, knowledge=options.knowledge)
    t0 = time.perf_counter()
    results = run_cases(
        cases,
        workflow,
        models,
        approvals=ApprovalPolicy(options.approvals),
        concurrency=options.concurrency,
        progress=options.progress,
        console=console,
        on_result=None if options.progress else lambda r: _print_case(r, console),
        turns=options.turns,
    )
    card = build_scorecard(
        results,
        workflow=options.workflow,
        dataset=options.dataset if options.turns == 1 else f"{options.dataset} (2 messages)",
        model=models.label,
        approvals=options.approvals,
        wall_s=time.perf_counter() - t0,
        routing=options.routing.to_json() if options.routing else None,
        assignment=options.assignment,
    )
    paths = write_scorecard(card, options.out_dir or PROJECT_ROOT / "evals" / "results")
    print_scorecard(card, console)
    console.print(f"scorecard: {paths[0]} and {paths[1].name}")
    if options.store:
        _store(card, settings, console, options.tenant)
    if options.langfuse:
        _push_langfuse(settings, card, cases, results, console)
    gate = None
    exit_code = 0
    if options.baseline is not None and options.baseline.is_file() and not options.write_baseline:
        gate = check_gate(card, read_baseline(options.baseline))
        _print_gate(gate, console)
        exit_code = 0 if gate.ok else 1
    if options.write_baseline:
        if options.baseline is None:
            raise ValueError("--write-baseline needs --baseline FILE")
        write_baseline(card, options.baseline)
        console.print(f"baseline written: {options.baseline}")
    return EvalOutcome(card=card, paths=paths, gate=gate, exit_code=exit_code)


def _print_case(result: CaseResult, console: Console) -> None:
    verdict = "[green]pass[/green]" if result.passed else f"[red]FAIL[/red] {result.cause}"
    console.print(f"{result.case_id}: {verdict} ({result.latency_s:.1f} s)")


def _push_langfuse(
    settings: Settings,
    card: Scorecard,
    cases: list[EvalCase],
    results: list[CaseResult],
    console: Console,
) -> None:
    import httpx
    from waypost.evals.langfuse_push import push_from_settings

    try:
        run_name = push_from_settings(settings.langfuse, card, cases, results)
    except httpx.HTTPError as exc:  # the eval's verdict never depends on Langfuse
        console.print(f"[yellow]langfuse push failed: {exc}[/yellow]")
        return
    if run_name is not None:
        console.print(f"[dim]pushed to Langfuse as dataset run {run_name!r}[/dim]")


def _store(card: Scorecard, settings: Settings, console: Console, tenant: str) -> None:
    from waypost.evals.persist import save_scorecard
    from waypost.graphs.plugins import migrate
    from waypost.runtime.db import make_engine, make_session_factory

    engine = make_engine(settings.database)
    try:
        if settings.database.auto_migrate:
            migrate(engine)
        row_id = save_scorecard(make_session_factory(engine), card, tenant=tenant)
        console.print(f"[dim]stored as eval_scorecards #{row_id}[/dim]")
    finally:
        engine.dispose()


def _print_gate(gate: GateResult, console: Console) -> None:
    if gate.ok:
        console.print("[green]gate: no regression beyond tolerance[/green]")
    for line in gate.regressions:
        console.print(f"[red]regression[/red] {line}")
    if gate.flipped:
        console.print(f"[red]pass -> fail[/red] ({len(gate.flipped)}): {', '.join(gate.flipped)}")
    if gate.fixed:
        console.print(f"[green]fail -> pass[/green] ({len(gate.fixed)}): {', '.join(gate.fixed)}")
