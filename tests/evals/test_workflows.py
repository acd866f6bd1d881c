"""Eval adapters with scripted chat models: the kit's agent, real-model plumbing, two-message
conversations, failures."""

from __future__ import annotations

import pytest
from waypost.domains.retail.evals import adapter as retail_adapter
from waypost.evals.models import model_setup
from waypost.evals.runner import run_cases
from waypost.evals.workflows import get_workflow
from waypost.runtime.errors import ConfigError

from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE


def _cancel_case(smoke_cases):
    return next(c for c in smoke_cases if c.id == "cancel-1")


def test_the_agent_runs_tools_through_approvals_and_is_scored_like_the_workflow(
    smoke_cases, settings
) -> None:
    case = _cancel_case(smoke_cases)
    cancel = next(a for a in case.expected.actions if a.name == "cancel_pending_order")
    find = case.expected.actions[0]
    model = ScriptedChatModel(
        responses=[
            ScriptedChatModel.tool_call(find.name, find.arguments),
            ScriptedChatModel.tool_call(cancel.name, cancel.arguments),
            f"Done: order {cancel.arguments['order_id']} is cancelled.",
        ]
    )
    setup = model_setup("scripted:react", settings, chat_factory=lambda _name: model)
    [result] = run_cases([case], get_workflow("retail_agent"), setup, progress=False)
    assert result.passed, (result.cause, [s.detail for s in result.scores])
    assert result.record.executed[0].name == "cancel_pending_order"
    assert [p.name for p in result.record.proposed] == ["cancel_pending_order"]  # approved first
    assert result.record.steps and result.record.steps[0].input_tokens > 0
    assert result.score("trajectory").value == 1.0


def test_the_agent_with_an_oracle_is_a_config_failure_not_a_crash(smoke_cases, settings):
    case = _cancel_case(smoke_cases)
    [result] = run_cases(
        [case],
        get_workflow("retail_agent"),
        model_setup("scripted:gold", settings),
        progress=False,
    )
    assert not result.passed and result.cause == "config_error"


def test_retail_workflow_through_the_model_layer_and_exceptions_become_failures(
    smoke_cases, settings
) -> None:
    case = _cancel_case(smoke_cases)
    cancel = next(a for a in case.expected.actions if a.name == "cancel_pending_order")
    ident = case.expected.actions[0].arguments
    intake = {
        **CANCEL_INTAKE,
        "identity": ident,
        "requests": [{"kind": "cancel_order", "order_id": cancel.arguments["order_id"]}],
    }
    plan = {"actions": [{"kind": "cancel_order", **cancel.arguments}]}
    model = ScriptedChatModel(responses=[intake, plan])
    setup = model_setup("scripted:fake", settings, chat_factory=lambda _name: model)
    [ok] = run_cases([case], get_workflow("retail_support"), setup, progress=False)
    assert ok.passed, (ok.cause, [s.detail for s in ok.scores])
    assert ok.record.steps[0].model == "scripted:fake"

    # the model layer degrades a dead model to the code path: still scored, never raised
    [degraded] = run_cases([case], get_workflow("retail_support"), setup, progress=False)
    assert degraded.record.error is None and degraded.record.steps[0].model is None
    assert degraded.record.steps[0].error_code is not None  # surfaced in the scorecard


class _Exploding:
    name = "exploding"
    adapter = retail_adapter

    def run(self, run):
        raise RuntimeError("boom")


def test_exceptions_are_failures_with_their_cause(smoke_cases, settings) -> None:
    results = run_cases(
        smoke_cases[:3], _Exploding(), model_setup("scripted:gold", settings), progress=False
    )
    assert [r.cause for r in results] == ["exception:RuntimeError"] * 3
    assert all("boom" in (r.record.error or "") for r in results)


def test_unknown_workflow_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        get_workflow("nope")


def test_two_message_mode_asks_then_continues(smoke_cases, settings) -> None:
    """The reason for the call first; the workflow asks who the customer is; the facts next."""
    case = _cancel_case(smoke_cases)
    message = case.input.message
    cut = message.index("Please")
    conversation = case.model_copy(
        update={
            "input": case.input.model_copy(update={"turns": [message[cut:], message[:cut].strip()]})
        }
    )
    [one] = run_cases(
        [conversation],
        get_workflow("retail_support"),
        model_setup("scripted:gold", settings),
        progress=False,
    )
    [two] = run_cases(
        [conversation],
        get_workflow("retail_support"),
        model_setup("scripted:gold", settings),
        progress=False,
        turns=2,
    )
    assert one.passed and two.passed, (two.cause, [s.detail for s in two.scores])
    steps = [s.step for s in two.record.steps]
    assert steps.count("intake") == 2 and steps.count("plan") == 1
    assert "zip code" in two.record.reply  # turn 1 asked
