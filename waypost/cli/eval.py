"""``waypost eval WORKFLOW --dataset D``: run a dataset, write a scorecard, gate regressions."""

from __future__ import annotations

from pathlib import Path

import typer

from waypost.cli._common import console, load_settings
from waypost.runtime.errors import ConfigError

__all__ = ["register"]

_APPROVALS = ("approve", "reject", "case")


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_(
        workflow: str = typer.Argument(
            ..., help="An eval workflow, e.g. retail_support; or retrieval (a labelled query set)."
        ),
        dataset: str = typer.Option(
            "evals/datasets/retail_golden.jsonl",
            "--dataset",
            "-d",
            help="A JSONL dataset, or tau2:PATH for tau2 tasks (db.json alongside).",
        ),
        model: str | None = typer.Option(
            None,
            "--model",
            "-m",
            help="Model for the judgement steps: local:..., openai:..., scripted:gold (oracle).",
        ),
        baseline: Path | None = typer.Option(None, help="Baseline JSON to gate against."),
        write_baseline: bool = typer.Option(
            False, "--write-baseline", help="Write this run as the baseline (keeps tolerances)."
        ),
        limit: int | None = typer.Option(None, help="Only the first N cases."),
        concurrency: int = typer.Option(
            4, help="Cases at once (local models: at most WAYPOST_MODELS__PARALLEL_SLOTS)."
        ),
        approvals: str = typer.Option(
            "case", help="approve | reject | case (the case's scripted decisions, else approve)."
        ),
        out: Path | None = typer.Option(None, help="Output folder (default evals/results)."),
        store: bool = typer.Option(True, help="Store the scorecard in the database."),
        progress: bool = typer.Option(True, help="Show a progress bar."),
        langfuse: bool = typer.Option(True, help="Push the run to Langfuse when configured."),
        planner: str = typer.Option(
            "model",
            help="retail_support planner: model (revises the code draft), draft (code only) "
            "or auto (the model only where the draft is unsure or rejected).",
        ),
        tenant: str = typer.Option("default", help="The tenant that owns the stored scorecard."),
        collection: str = typer.Option(
            "eval-banking", help="retrieval: the collection the dataset's documents go into."
        ),
        mode: str = typer.Option("hybrid", help="retrieval: hybrid | lexical | vector."),
        expand: bool = typer.Option(True, help="retrieval: also search each query sentence."),
        embedder: str | None = typer.Option(None, help="retrieval: the embedder to use."),
        knowledge: bool = typer.Option(
            True, help="retail_support: answer catalogue questions from the knowledge collection."
        ),
        turns: int = typer.Option(
            1,
            help="1: each case in one message; 2: the reason for the call first, the "
            "customer's facts once the workflow asks (cases with a two-message form).",
        ),
        routing: str | None = typer.Option(
            None,
            help="Per-step models: a routing file (JSON/TOML) or 'intake=A,plan=A>B' "
            "(> cascades, | falls back); --model is the default for other steps.",
        ),
        sweep: str | None = typer.Option(
            None,
            help="Run every assignment of a sweep file (JSON/TOML) or of 'SPEC; SPEC; ...' "
            "and recommend the cheapest within tolerance of the best pass rate.",
        ),
        write_routing: Path | None = typer.Option(
            None, "--write-routing", help="With --sweep: write the recommendation here."
        ),
    ) -> None:
        """Run a golden dataset through a workflow, score it and gate regressions.

        Exits 1 when a gated metric drops beyond its tolerance in the baseline file.
        """
        if workflow == "retrieval":
            from waypost.cli import eval_retrieval

            eval_retrieval.run(
                dataset,
                tenant=tenant,
                collection=collection,
                mode=mode,
                expand=expand,
                limit=limit,
                embedder=embedder,
            )
            return
        from waypost.evals.cli_run import EvalOptions, run_eval

        if approvals not in _APPROVALS:
            raise ConfigError(f"--approvals must be one of {_APPROVALS}")
        if turns not in (1, 2):
            raise ConfigError("--turns must be 1 or 2")
        if write_baseline and baseline is None:
            raise ConfigError("--write-baseline needs --baseline FILE")
        if sweep and routing:
            raise ConfigError("--sweep and --routing exclude each other (a sweep has its own)")
        if write_routing is not None and not sweep:
            raise ConfigError("--write-routing needs --sweep")
        if sweep and (baseline is not None or write_baseline):
            raise ConfigError("--baseline gates one run; run it without --sweep")
        options = EvalOptions(
            workflow=workflow,
            dataset=dataset,
            model=model,
            baseline=baseline,
            write_baseline=write_baseline,
            limit=limit,
            concurrency=concurrency,
            approvals=approvals,  # type: ignore[arg-type]
            out_dir=out,
            store=store,
            progress=progress,
            langfuse=langfuse,
            planner=planner,
            turns=turns,
            tenant=tenant,
            knowledge=knowledge,
        )
        settings = load_settings()
        if sweep:
            from waypost.evals.sweep import load_sweep, run_sweep
            from waypost.evals.sweep import write_routing as write_routing_file

            result = run_sweep(options, load_sweep(sweep, workflow), settings, console)
            if write_routing is not None:
                write_routing_file(result, write_routing)
                console.print(f"routing written: {write_routing}")
            raise typer.Exit(0)
        if routing:
            from dataclasses import replace

            from waypost.evals.sweep import routing_arg

            options = replace(options, routing=routing_arg(routing, workflow))
        outcome = run_eval(options, settings, console)
        raise typer.Exit(outcome.exit_code)
