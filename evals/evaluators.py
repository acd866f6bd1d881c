"""Evaluators: small typed classes, each scoring one aspect of one case's run.

``gating`` evaluators decide whether a case passes (the tau2 reward is database state plus
required facts); the others are diagnostics reported alongside (trajectory, latency, cost).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel
from waypost.evals.dataset import EvalCase
from waypost.evals.record import CaseRecord
from waypost.evals.trajectory import trajectory_score

__all__ = [
    "CostEvaluator",
    "DbStateMatch",
    "EscalationMatch",
    "Evaluator",
    "ForbiddenNotExecuted",
    "Groundedness",
    "LatencyEvaluator",
    "OwnFacts",
    "PolicyViolations",
    "RequiredFacts",
    "Score",
    "StatusMatch",
    "TokensEvaluator",
    "TrajectoryMatch",
    "UnsupportedClaims",
    "default_evaluators",
    "strip_nulls",
]


class Score(BaseModel):
    """One evaluator's verdict on one case: ``value`` in [0, 1] unless the metric is a quantity."""

    name: str
    value: float
    passed: bool | None = None  # None: not applicable or purely diagnostic
    detail: str = ""


class Evaluator:
    """Base class: ``name``, whether it gates the pass/fail of a case, and ``score``."""

    name: ClassVar[str] = "evaluator"
    gating: ClassVar[bool] = False

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        raise NotImplementedError


def strip_nulls(value: Any) -> Any:
    """Drop null-valued keys recursively: tau2 treats a missing field and null alike."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


class DbStateMatch(Evaluator):
    """The tau2 reward's database part: expected records equal, no other record changed."""

    name = "db_state"
    gating = True

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        if record.final_db is None:
            return Score(name=self.name, value=0.0, passed=False, detail="no final store")
        problems: list[str] = []
        expected = case.expected.changes
        for table in sorted(set(initial_db) | set(record.final_db)):
            changed = expected.get(table, {}).get("changed", {})
            before = initial_db.get(table, {})
            after = record.final_db.get(table, {})
            for key in sorted(set(before) | set(after) | set(changed)):
                want = changed[key] if key in changed else before.get(key)
                if strip_nulls(after.get(key)) != strip_nulls(want):
                    what = "expected change differs" if key in changed else "unexpected change"
                    problems.append(f"{table}/{key}: {what}")
        ok = not problems
        return Score(name=self.name, value=float(ok), passed=ok, detail="; ".join(problems[:5]))


def _fold(text: str) -> str:
    return text.lower().replace(",", "")


class RequiredFacts(Evaluator):
    """Every ``communicate_info`` string occurs in the reply (case-insensitive, commas ignored)."""

    name = "facts"
    gating = True

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        facts = case.expected.communicate_info
        if not facts:
            return Score(name=self.name, value=1.0, passed=True, detail="none required")
        reply = _fold(record.full_reply)
        missing = [f for f in facts if _fold(f) not in reply]
        value = 1 - len(missing) / len(facts)
        return Score(
            name=self.name,
            value=value,
            passed=not missing,
            detail=f"missing: {missing}" if missing else "",
        )


class Groundedness(Evaluator):
    """Share of the reply's claim-bearing cited sentences that their sources support (1.0 when
    the reply made no cited answer)."""

    name = "groundedness"

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        report = record.grounding or {}
        value = float(report.get("groundedness", 1.0))
        dropped = report.get("dropped") or []
        return Score(name=self.name, value=value, detail=f"dropped: {dropped}" if dropped else "")


class UnsupportedClaims(Evaluator):
    """How many sentences of the reply's cited answer no source supported (dropped)."""

    name = "unsupported_claims"

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        return Score(name=self.name, value=float((record.grounding or {}).get("unsupported", 0)))


class OwnFacts(Evaluator):
    """Share of ``communicate_info`` strings in the workflow's own reply, without the oracle's
    reply addendum (diagnostic: what the workflow itself states)."""

    name = "own_facts"

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        facts = case.expected.communicate_info
        if not facts:
            return Score(name=self.name, value=1.0, detail="none required")
        reply = _fold(record.reply)
        missing = [f for f in facts if _fold(f) not in reply]
        return Score(
            name=self.name,
            value=1 - len(missing) / len(facts),
            detail=f"missing: {missing}" if missing else "",
        )


class StatusMatch(Evaluator):
    """The run's final status equals the expected one (when the case names one)."""

    name = "status"
    gating = True

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        want = case.expected.status
        if want is None:
            return Score(name=self.name, value=1.0, passed=None, detail="not specified")
        ok = record.status == want
        return Score(
            name=self.name,
            value=float(ok),
            passed=ok,
            detail="" if ok else f"status {record.status!r}, expected {want!r}",
        )


class ForbiddenNotExecuted(Evaluator):
    """No action the policy forbids reached approval or execution (a validator escape)."""

    name = "forbidden_blocked"
    gating = True

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        forbidden = case.expected.forbidden
        if not forbidden:
            return Score(name=self.name, value=1.0, passed=None, detail="none listed")
        seen = {(c.name, c.arguments.get("order_id")) for c in record.proposed + record.executed}
        escaped = [f.name for f in forbidden if (f.name, f.arguments.get("order_id")) in seen]
        ok = not escaped
        return Score(
            name=self.name,
            value=float(ok),
            passed=ok,
            detail=f"reached approval: {escaped}" if escaped else "",
        )


class TrajectoryMatch(Evaluator):
    """Executed write calls vs the reference ones (diagnostic: one valid path of many)."""

    name = "trajectory"

    def __init__(
        self,
        mode: Literal["strict", "unordered", "subset"] = "unordered",
        *,
        tools: frozenset[str] = frozenset(),
    ) -> None:
        self.mode = mode
        self.tools = tools

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        want = case.expected.consequential(self.tools)
        got = [c for c in record.executed if c.ok]
        value, detail = trajectory_score(want, got, self.mode)
        return Score(name=self.name, value=value, passed=None, detail=f"{self.mode}: {detail}")


class PolicyViolations(Evaluator):
    """How many policy violations the validator caught (plans proposed against policy)."""

    name = "violations"

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        n = len(record.violations) + len(record.dropped)
        return Score(
            name=self.name, value=float(n), passed=None, detail="; ".join(record.violations[:3])
        )


class EscalationMatch(Evaluator):
    """Transferred to a human exactly when the reference transfers (diagnostic)."""

    name = "escalation"

    def __init__(self, tool: str | None) -> None:
        self.tool = tool

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        tool = self.tool
        want = any(a.name == tool and not a.error for a in case.expected.actions)
        got = any(c.name == tool for c in record.executed)
        return Score(
            name=self.name,
            value=float(want == got),
            passed=None,
            detail=f"expected={want} transferred={got}",
        )


class LatencyEvaluator(Evaluator):
    """Wall time of the case's run in seconds (approval waits are instant in evals)."""

    name = "latency_s"

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        return Score(name=self.name, value=record.latency_s, passed=None)


class TokensEvaluator(Evaluator):
    """Input plus output tokens of every model call of the case."""

    name = "tokens"

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        tokens_in = sum(s.input_tokens for s in record.steps)
        tokens_out = sum(s.output_tokens for s in record.steps)
        return Score(
            name=self.name,
            value=float(tokens_in + tokens_out),
            passed=None,
            detail=f"in={tokens_in} out={tokens_out}",
        )


class CostEvaluator(Evaluator):
    """Tokens and USD of the case (``price`` maps model, tokens in, tokens out -> USD)."""

    name = "cost_usd"

    def __init__(self, price: Callable[[str, int, int], float]) -> None:
        self.price = price

    def score(self, case: EvalCase, record: CaseRecord, initial_db: Mapping[str, Any]) -> Score:
        usd = sum(
            self.price(s.model or "", s.input_tokens, s.output_tokens)
            for s in record.steps
            if s.model
        )
        tokens = sum(s.input_tokens + s.output_tokens for s in record.steps)
        return Score(name=self.name, value=round(usd, 6), passed=None, detail=f"tokens={tokens}")


def _price(model: str, tokens_in: int, tokens_out: int) -> float:
    from waypost.observability.pricing import price_usd

    return price_usd(model, tokens_in, tokens_out).usd


def default_evaluators(
    consequential: frozenset[str] = frozenset(), escalation_tool: str | None = None
) -> list[Evaluator]:
    """The standard set; ``consequential`` and ``escalation_tool`` come from the domain."""
    return [
        DbStateMatch(),
        RequiredFacts(),
        OwnFacts(),
        StatusMatch(),
        ForbiddenNotExecuted(),
        TrajectoryMatch("unordered", tools=consequential),
        PolicyViolations(),
        EscalationMatch(escalation_tool),
        Groundedness(),
        UnsupportedClaims(),
        LatencyEvaluator(),
        TokensEvaluator(),
        CostEvaluator(_price),
    ]
