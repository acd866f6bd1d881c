"""The eval smoke set through the real workflow with scripted models, and the regression gate.

``scripted:naive`` proposes what the customer asked for, policy or not: with the validator in
place every smoke case passes; with the validator disabled (the planted regression) the refusal
cases reach approval and the gate fails, naming the cases that flipped.
"""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from sqlalchemy import select
from waypost.evals.approvals import ApprovalPolicy
from waypost.evals.cli_run import EvalOptions, run_eval
from waypost.evals.gate import check_gate, read_baseline, write_baseline
from waypost.evals.models import model_setup
from waypost.evals.persist import EvalScorecardRow
from waypost.evals.runner import run_cases
from waypost.evals.scorecard import build_scorecard
from waypost.evals.workflows import get_workflow
from waypost.runtime.db import make_engine, make_session_factory

from tests.evals.conftest import SMOKE


def _card(cases, settings, model="scripted:naive", approvals="case"):
    results = run_cases(
        cases,
        get_workflow("retail_support"),
        model_setup(model, settings),
        approvals=ApprovalPolicy(approvals),
        progress=False,
    )
    card = build_scorecard(
        results,
        workflow="retail_support",
        dataset="smoke",
        model=model,
        approvals=approvals,
        wall_s=0.0,
    )
    return results, card


def test_smoke_set_passes_with_the_gold_oracle(smoke_cases, settings) -> None:
    results, card = _card(smoke_cases, settings, model="scripted:gold")
    assert [r.cause for r in results if not r.passed] == []
    assert card.pass_rate == 1.0 and card.metrics["db_state_mean"] == 1.0
    by_id = {r.case_id: r for r in results}
    assert by_id["reject-cancel"].record.decisions == ["reject"]
    assert by_id["transfer-1"].record.status == "transferred"
    assert by_id["cancel-1"].record.executed[0].name == "cancel_pending_order"


def test_reject_all_fails_the_cases_that_must_act(smoke_cases, settings) -> None:
    results, card = _card(smoke_cases, settings, model="scripted:gold", approvals="reject")
    failed = {r.case_id for r in results if not r.passed}
    assert {"cancel-1", "return-1", "exchange-1", "modify-items-1"} <= failed
    assert "refuse-cancel-delivered" not in failed
    assert card.failures_by_cause


def test_gate_passes_on_the_baseline_and_catches_a_disabled_validator(
    smoke_cases, settings, tmp_path, monkeypatch
) -> None:
    _, base = _card(smoke_cases, settings)
    assert base.pass_rate == 1.0 and base.metrics["violations_mean"] > 0  # validator caught them
    baseline = tmp_path / "baseline.json"
    write_baseline(base, baseline)
    _, again = _card(smoke_cases, settings)
    assert check_gate(again, read_baseline(baseline)).ok

    monkeypatch.setattr("waypost.domains.retail.graph.validate_plan", lambda *a, **k: [])
    _, broken = _card(smoke_cases, settings)
    gate = check_gate(broken, read_baseline(baseline))
    assert not gate.ok
    assert any(r.startswith("pass_rate") for r in gate.regressions)
    assert "refuse-cancel-delivered" in gate.flipped
    assert "refuse-exchange-other-product" in gate.flipped
    assert "cancel-1" not in gate.flipped


def test_run_eval_writes_scorecards_stores_them_and_exits_nonzero_on_regression(
    settings, tmp_path, monkeypatch
) -> None:
    console = Console(file=io.StringIO(), width=200)
    opts = dict(
        workflow="retail_support",
        dataset=str(SMOKE),
        model="scripted:naive",
        baseline=tmp_path / "b.json",
        out_dir=tmp_path / "results",
        progress=False,
        limit=3,
    )
    first = run_eval(EvalOptions(**opts, write_baseline=True), settings, console)
    assert first.exit_code == 0 and first.paths[0].exists() and first.paths[1].exists()
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc["tolerances"]["pass_rate"] == 0.0 and doc["metrics"]["pass_rate"] == 1.0
    assert "pass rate" in first.paths[1].read_text()

    monkeypatch.setattr("waypost.domains.retail.graph.validate_plan", lambda *a, **k: [])
    second = run_eval(EvalOptions(**{**opts, "limit": None}), settings, console)
    assert second.exit_code == 1
    assert second.gate is not None and second.gate.flipped == []  # new cases are not flips
    engine = make_engine(settings.database)
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(EvalScorecardRow)).all()
    engine.dispose()
    assert len(rows) == 2 and rows[0].n_cases == 3


@pytest.mark.parametrize("mode", ["approve", "reject", "case"])
def test_approval_policy(mode, smoke_cases) -> None:
    case = next(c for c in smoke_cases if c.approvals)
    decision = ApprovalPolicy(mode).decide(case, 0, {})["decision"]
    assert decision == {"approve": "approve", "reject": "reject", "case": "reject"}[mode]
