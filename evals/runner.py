"""Run a dataset through a workflow: fresh store per case, parallel where the model allows.

A case never raises: an exception or model error becomes a failed case whose cause is kept
(``model_error:<code>``, ``oracle_schema``, the exception type), so one bad case cannot hide
the rest of the scorecard.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from waypost.evals.adapter import WorldProvider
from waypost.evals.approvals import ApprovalPolicy
from waypost.evals.dataset import EvalCase
from waypost.evals.evaluators import Evaluator, Score, default_evaluators
from waypost.evals.models import ModelSetup, OracleError
from waypost.evals.record import CaseRecord
from waypost.evals.workflows import CaseRun, EvalWorkflow
from waypost.runtime.errors import ModelError, WaypostError

__all__ = ["CaseResult", "failure_cause", "run_cases"]


class CaseResult(BaseModel):
    """One case's verdict: pass/fail, the cause of a failure, every evaluator's score."""

    case_id: str
    passed: bool
    cause: str | None = None
    tags: list[str] = Field(default_factory=list)
    latency_s: float = 0.0
    scores: list[Score] = Field(default_factory=list)
    record: CaseRecord

    def score(self, name: str) -> Score | None:
        return next((s for s in self.scores if s.name == name), None)


def failure_cause(exc: BaseException) -> str:
    """A short, groupable cause for an exception raised by a run."""
    if isinstance(exc, ModelError):
        return f"model_error:{exc.code}"
    if isinstance(exc, OracleError):
        return "oracle_schema"
    if isinstance(exc, WaypostError):
        return exc.code
    return f"exception:{type(exc).__name__}"


def _run_one(
    case: EvalCase,
    workflow: EvalWorkflow,
    models: ModelSetup,
    approvals: ApprovalPolicy,
    worlds: WorldProvider,
    evaluators: Sequence[Evaluator],
    turns: int,
) -> CaseResult:
    initial = worlds.initial(case.world)
    with worlds.fresh(case.world, case.id) as store:
        t0 = time.perf_counter()
        try:
            record = workflow.run(
                CaseRun(
                    case=case,
                    store=store,
                    initial_db=initial,
                    models=models,
                    approvals=approvals,
                    turns=turns,
                )
            )
        except Exception as exc:  # scored as a failure with its cause, never raised
            record = CaseRecord(
                case_id=case.id,
                error=f"{type(exc).__name__}: {exc}"[:500],
                error_cause=failure_cause(exc),
            )
        record.latency_s = round(time.perf_counter() - t0, 3)
        record.final_db = store.export()
    scores = [ev.score(case, record, initial) for ev in evaluators]
    failed = [s.name for s in scores if s.passed is False]
    cause = record.error_cause or (failed[0] if failed else None)
    record.final_db = None  # large; the diff is in the db_state score's detail
    return CaseResult(
        case_id=case.id,
        passed=cause is None,
        cause=cause,
        tags=case.tags,
        latency_s=record.latency_s,
        scores=scores,
        record=record,
    )


def run_cases(
    cases: Sequence[EvalCase],
    workflow: EvalWorkflow,
    models: ModelSetup,
    *,
    approvals: ApprovalPolicy | None = None,
    evaluators: Sequence[Evaluator] | None = None,
    concurrency: int = 4,
    workdir: Path | None = None,
    progress: bool = True,
    console: Console | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
    turns: int = 1,
) -> list[CaseResult]:
    """Run ``cases`` and score them; results come back in dataset order.

    ``turns=2`` plays each case as a conversation (the reason for the call, then the facts)
    where the case has that form.
    """
    adapter = workflow.adapter
    evs = (
        list(evaluators)
        if evaluators is not None
        else default_evaluators(adapter.consequential_tools, adapter.escalation_tool)
    )
    policy = approvals or ApprovalPolicy()
    limit = models.max_concurrency
    workers = max(1, min(concurrency, limit) if limit else concurrency)
    with tempfile.TemporaryDirectory(prefix="waypost-eval-", dir=workdir) as tmp:
        worlds = adapter.worlds(Path(tmp))
        results: dict[str, CaseResult] = {}
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pass {task.fields[passed]}"),
            TimeElapsedColumn(),
        )
        with (
            Progress(*columns, console=console, disable=not progress) as bar,
            ThreadPoolExecutor(max_workers=workers) as pool,
        ):
            task = bar.add_task(f"{workflow.name} / {models.name}", total=len(cases), passed=0)
            futures = [
                pool.submit(_run_one, c, workflow, models, policy, worlds, evs, turns)
                for c in cases
            ]
            passed = 0
            for fut in futures:
                result = fut.result()
                results[result.case_id] = result
                passed += result.passed
                bar.update(task, advance=1, passed=passed)
                if on_result is not None:
                    on_result(result)
    return [results[c.id] for c in cases]
