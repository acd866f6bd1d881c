"""Routing chosen by evals: sweep files, the recommendation rule, a sweep end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner
from waypost.agents.routing import load_routing, parse_route_spec
from waypost.evals.cli_run import EvalOptions
from waypost.evals.scorecard import Scorecard, wilson_interval
from waypost.evals.sweep import (
    Assignment,
    load_sweep,
    recommend,
    routing_arg,
    run_sweep,
    write_routing,
)
from waypost.runtime.errors import ConfigError

from tests.evals.conftest import SMOKE
from tests.fakes import Fault, ScriptedChatModel
from waypost.cli import eval as eval_cli

WF = "retail_support"


def _card(name: str, passed: int, n: int = 20, *, p50: float, usd: float = 0.0) -> Scorecard:
    return Scorecard(
        workflow=WF,
        dataset="d",
        model=f"routing:{name}",
        approvals="case",
        n=n,
        passed=passed,
        pass_rate=passed / n,
        ci95=wilson_interval(passed, n),
        metrics={"cost_per_case_usd": usd, "latency_p50_s": p50, "tokens_total": 1000.0},
        failures_by_cause={},
        cases=[],
    )


def _a(name: str) -> Assignment:
    return Assignment(name, parse_route_spec(f"*=local:{name}", WF))


def test_recommendation_is_the_cheapest_within_tolerance_of_the_best() -> None:
    cards = [
        (_a("big"), _card("big", 10, p50=40.0)),
        (_a("small"), _card("small", 9, p50=10.0)),  # 5 points below the best: within 5%
        (_a("tiny"), _card("tiny", 5, p50=2.0)),  # cheapest, but far below
        (_a("hosted"), _card("hosted", 10, p50=3.0, usd=0.01)),  # as good, but costs USD
    ]
    assert recommend(cards, 0.05)[0].name == "small"
    assert recommend(cards, 0.0)[0].name == "big"  # exact best only: big costs no USD
    assert recommend(cards, 1.0)[0].name == "tiny"


def test_sweeps_load_from_inline_specs_and_files(tmp_path) -> None:
    plan = load_sweep("*=local:a; intake=local:a,plan=local:a>local:b", WF)
    names = [a.name for a in plan.assignments]
    assert names == ["*=local:a", "intake=local:a,plan=local:a>local:b"]
    route = plan.assignments[1].routing.route(WF, "plan")
    assert route is not None and route.cascade and route.models == ("local:a", "local:b")

    path = tmp_path / "sweep.json"
    path.write_text(
        json.dumps(
            {
                "tolerance": 0.1,
                "assignments": [
                    {"name": "small", "routing": "*=local:a"},
                    {"name": "table", "routing": {WF: {"plan": {"model": "local:b"}}}},
                ],
            }
        )
    )
    plan = load_sweep(str(path), WF)
    assert plan.tolerance == 0.1 and [a.name for a in plan.assignments] == ["small", "table"]

    toml = tmp_path / "sweep.toml"
    toml.write_text('assignments = ["*=local:a", "*=local:b"]\n')
    assert len(load_sweep(str(toml), WF).assignments) == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("plan", "must be STEP=MODEL"),
        ("plan=gpt4", "must be '<provider>:<model>'"),
        ("plan=local:a>local:b|local:c", "either '>'"),
        ("*=local:a; *=local:a", "names must differ"),
        ("missing.json", "does not exist"),
    ],
)
def test_bad_sweeps_are_clear_config_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sweep(spec, WF)


def _forever(item: Any) -> ScriptedChatModel:
    return ScriptedChatModel(responses=[lambda _m, item=item: item for _ in range(500)])


def test_a_sweep_runs_each_assignment_stores_it_and_writes_the_recommendation(
    settings, tmp_path
) -> None:
    models = {
        # every call fails: the workflow degrades to code (pattern intake, code-resolved plan)
        "local:failing": _forever(Fault.BAD_REQUEST),
        # valid but empty answers: no identity, no requests, an empty plan
        "local:empty": _forever({}),
    }
    options = EvalOptions(
        workflow=WF,
        dataset=str(SMOKE),
        out_dir=tmp_path,
        store=False,
        progress=False,
        langfuse=False,
        concurrency=1,
    )
    plan = load_sweep("*=local:failing; *=local:empty", WF)
    console = Console(width=200, record=True)
    result = run_sweep(options, plan, settings, console, chat_factory=models.__getitem__)

    (a, failing), (b, empty) = result.cards
    assert failing.model == "routing:*=local:failing" and failing.assignment == a.name
    assert empty.routing == {WF: {"*": {"model": "local:empty"}}}
    assert "intake=local:empty (table)" in empty.cases[0].routes  # who served each step, why
    assert failing.cases[0].routes == [] and failing.metrics["escalated_steps"] == 0
    assert failing.passed > empty.passed  # the code path resolves cases an empty answer cannot
    assert result.recommended[0].name == a.name
    out = console.export_text()
    assert "recommended: *=local:failing" in out and "95% CI" in out

    path = tmp_path / "routing.json"
    write_routing(result, path)
    table = load_routing(path)
    assert table.route(WF, "plan").model == "local:failing"  # type: ignore[union-attr]
    assert json.loads(path.read_text())["chosen_by"]["compared"] == [a.name, b.name]
    # and the written file is what `--routing` reads
    assert routing_arg(str(path), WF) == table


def _app() -> typer.Typer:
    app = typer.Typer()
    eval_cli.register(app)

    @app.command()
    def noop() -> None:
        """Nothing."""

    return app


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--routing", "plan"], "must be STEP=MODEL"),
        (["--write-routing", "r.json"], "--write-routing needs --sweep"),
        (["--sweep", "*=local:a", "--routing", "*=local:b"], "exclude each other"),
        (["--routing", "*=local:a", "-m", "scripted:gold"], "takes no --routing"),
    ],
)
def test_eval_cli_refuses_bad_routing_arguments(settings, monkeypatch, extra, message) -> None:
    monkeypatch.setattr(eval_cli, "load_settings", lambda: settings)
    args = ["eval", WF, "-d", str(SMOKE), "--no-store", "--no-progress", "--limit", "1", *extra]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError) and message in str(result.exception)


def test_a_local_model_without_weights_is_refused_before_any_case_runs(settings, tmp_path) -> None:
    from waypost.evals.models import model_setup

    empty = settings.model_copy(
        update={"models": settings.models.model_copy(update={"cache_dir": tmp_path})}
    )
    table = parse_route_spec("plan=local:qwen2.5-coder-1.5b", WF)
    with pytest.raises(ConfigError, match=r"local:qwen2\.5-coder-1\.5b is not installed"):
        model_setup("local:qwen2.5-coder-0.5b", empty, routing=table, workflow=WF)
    with pytest.raises(ConfigError, match="unknown local model"):
        model_setup("local:nope", empty)
