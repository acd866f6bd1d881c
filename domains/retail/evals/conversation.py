"""Driving a retail workflow through one eval case: each customer message is a turn on one
thread, approvals are answered by the eval's policy, and what every turn did is collected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langgraph.types import Command
from waypost.evals.record import CaseRecord, ExecutedCall, StepUsage
from waypost.evals.workflows.base import CaseRun

__all__ = ["MAX_APPROVALS", "drive"]

MAX_APPROVALS = 50  # per turn; a plan is bounded, more than this means a loop


@dataclass
class _Collected:
    executed: list[ExecutedCall] = field(default_factory=list)
    proposed: list[ExecutedCall] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    steps: list[StepUsage] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


def drive(graph: Any, run: CaseRun, *, adapter: Any) -> CaseRecord:
    """Play the case's messages as turns; the next message is sent only while nothing has been
    done yet (the workflow asked for more, e.g. who the customer is)."""
    case = run.case
    cfg: dict[str, Any] = {"configurable": {"thread_id": f"eval-{case.id}"}}
    got = _Collected()
    values: dict[str, Any] = {}
    messages = run.messages()
    for turn, message in enumerate(messages):
        values = _turn(graph, cfg, {"message": message}, run, got)
        done_something = bool(values.get("executed")) or bool(values.get("decisions"))
        if done_something or turn == len(messages) - 1:
            break
    reply = " ".join(r for r in got.replies if r)
    return CaseRecord(
        case_id=case.id,
        status=values.get("status"),
        reply=reply,
        reply_addendum=run.models.addendum(case, reply, adapter),
        executed=got.executed,
        proposed=got.proposed,
        violations=got.violations,
        dropped=got.dropped,
        decisions=got.decisions,
        steps=got.steps,
        grounding=values.get("grounding"),
    )


def _turn(
    graph: Any, cfg: dict[str, Any], payload: Any, run: CaseRun, got: _Collected
) -> dict[str, Any]:
    for _ in range(MAX_APPROVALS):
        for chunk in graph.stream(payload, cfg, stream_mode="updates"):
            for node, update in chunk.items():
                if node != "__interrupt__" and isinstance(update, dict):
                    got.violations.extend(update.get("violations") or [])
        snapshot = graph.get_state(cfg)
        if not snapshot.next:
            break
        request = snapshot.interrupts[0].value
        got.proposed.append(ExecutedCall(name=request["tool"], arguments=request["arguments"]))
        payload = Command(resume=run.approvals.decide(run.case, len(got.proposed) - 1, request))
    else:
        raise RuntimeError(f"more than {MAX_APPROVALS} approval requests in one turn")
    values: dict[str, Any] = dict(snapshot.values)
    got.executed.extend(
        ExecutedCall(
            name=e["tool"],
            arguments=e["arguments"],
            ok=bool(e["ok"]),
            error=e.get("error_message"),
        )
        for e in values.get("executed") or []
    )
    got.dropped.extend(values.get("dropped") or [])
    got.decisions.extend(d["decision"] for d in values.get("decisions") or [])
    got.steps.extend(_step(s) for s in values.get("steps") or [])
    got.replies.append(str(values.get("reply") or ""))
    return values


def _step(raw: dict[str, Any]) -> StepUsage:
    return StepUsage(
        step=str(raw.get("step")),
        model=raw.get("model"),
        route_reason=raw.get("route_reason"),
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        latency_ms=float(raw.get("latency_ms") or 0),
        error_code=raw.get("error_code"),
    )
