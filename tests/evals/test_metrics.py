"""Evaluators, trajectory match, Wilson interval and percentiles on hand-made records."""

from __future__ import annotations

import pytest
from waypost.evals.dataset import EvalCase, Expected, ToolCall
from waypost.evals.evaluators import DbStateMatch, RequiredFacts, StatusMatch, strip_nulls
from waypost.evals.record import CaseRecord, ExecutedCall
from waypost.evals.scorecard import percentile, wilson_interval
from waypost.evals.trajectory import trajectory_score

INITIAL = {
    "orders": {"#W1": {"status": "pending", "cancel_reason": None}, "#W2": {"status": "x"}},
    "users": {"u": {"name": "A"}},
}


def case(**expected) -> EvalCase:
    return EvalCase(id="c", input={"message": "hi"}, expected=Expected(**expected))


def test_wilson_interval_matches_known_values() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(74, 74)
    assert hi == 1.0 and 0.95 < lo < 0.96
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_percentile_interpolates() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4, 100], 95) == pytest.approx(80.8)


def test_db_state_treats_null_and_missing_alike_and_catches_other_changes() -> None:
    ev = DbStateMatch()
    want = {"orders": {"changed": {"#W1": {"status": "cancelled"}}}}
    good = {
        "orders": {"#W1": {"status": "cancelled", "cancel_reason": None}, "#W2": {"status": "x"}},
        "users": {"u": {"name": "A"}},
    }
    assert ev.score(case(changes=want), CaseRecord(case_id="c", final_db=good), INITIAL).passed
    extra = {**good, "users": {"u": {"name": "B"}}}
    s = ev.score(case(changes=want), CaseRecord(case_id="c", final_db=extra), INITIAL)
    assert not s.passed and "users/u: unexpected change" in s.detail
    s = ev.score(case(changes=want), CaseRecord(case_id="c", final_db=INITIAL), INITIAL)
    assert not s.passed and "orders/#W1: expected change differs" in s.detail
    assert strip_nulls({"a": None, "b": [{"c": None, "d": 1}]}) == {"b": [{"d": 1}]}


def test_required_facts_ignore_case_and_commas() -> None:
    ev = RequiredFacts()
    c = case(communicate_info=["1093.34", "Polyester"])
    rec = CaseRecord(case_id="c", reply="It is polyester and costs $1,093.34.")
    assert ev.score(c, rec, {}).passed
    half = ev.score(c, CaseRecord(case_id="c", reply="polyester"), {})
    assert half.value == 0.5 and not half.passed
    added = CaseRecord(case_id="c", reply="polyester", reply_addendum="[oracle] 1093.34")
    assert ev.score(c, added, {}).passed


def test_status_is_only_checked_when_expected() -> None:
    assert StatusMatch().score(case(), CaseRecord(case_id="c", status="x"), {}).passed is None
    assert not StatusMatch().score(case(status="a"), CaseRecord(case_id="c", status="b"), {}).passed


@pytest.mark.parametrize(
    ("mode", "actual", "value"),
    [
        ("strict", ["b", "a"], 0.0),
        ("unordered", ["b", "a"], 1.0),
        ("subset", ["a"], 0.5),
        ("unordered", ["a", "a", "b"], 2 / 3),
        ("strict", ["a", "b"], 1.0),
    ],
)
def test_trajectory_modes(mode, actual, value) -> None:
    def call(order: str) -> ToolCall:
        return ToolCall(name="cancel_pending_order", arguments={"order_id": order, "x": None})

    expected = [call("a"), call("b")]
    got = [ExecutedCall(name="cancel_pending_order", arguments={"order_id": o}) for o in actual]
    assert trajectory_score(expected, got, mode)[0] == pytest.approx(value)
