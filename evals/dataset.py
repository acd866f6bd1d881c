"""Eval cases and their loaders: our JSONL format and the tau2-bench retail task format.

A case says what goes in (the customer's message), which store it runs against (``world``) and
what must come out: the end state of the store (tau2 ``expected_changes``), facts the reply must
carry (``communicate_info``), optionally the final status, the reference tool calls (diagnostic),
and actions that policy forbids (a planner may propose them; they must never be executed).

``load_dataset("tau2:PATH")`` reads tau2 tasks. The input message is the customer's
``known_info`` followed by ``reason_for_call``. ``unknown_info`` is left out: it lists what the
simulated customer does *not* know ("You do not remember your email"), which a one-shot message
would never say, and ``task_instructions`` (persona and conversation tactics, sometimes hinting
at the answer) and ``expected_actions`` never reach the workflow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from waypost.runtime.errors import ConfigError

__all__ = [
    "DEMO_WORLD",
    "EvalCase",
    "Expected",
    "ToolCall",
    "case_from_tau2",
    "load_dataset",
    "tau2_message",
    "tau2_turns",
]

DEMO_WORLD = "demo"
"""A domain's built-in deterministic demo world (retail: its generated demo store)."""


class ToolCall(BaseModel):
    """A reference tool call, as in tau2's ``expected_actions`` (output and error optional)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    error: bool = False


class CaseInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="The whole case in one message.")
    turns: list[str] | None = Field(
        default=None,
        description="The same case as a conversation: the reason for the call first, the "
        "customer's facts after the workflow asks (``waypost eval --turns 2``).",
    )


class Expected(BaseModel):
    """What a correct run produces. ``changes`` uses tau2's ``expected_changes`` format."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = None
    actions: list[ToolCall] = Field(default_factory=list)
    communicate_info: list[str] = Field(default_factory=list)
    changes: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    forbidden: list[ToolCall] = Field(
        default_factory=list,
        description="Write calls the customer asks for that policy forbids: never executed.",
    )

    def consequential(self, tools: frozenset[str]) -> list[ToolCall]:
        """The reference calls of ``tools`` (those that change the world), excluding failed ones."""
        return [a for a in self.actions if a.name in tools and not a.error]


class EvalCase(BaseModel):
    """One case of a dataset."""

    model_config = ConfigDict(extra="forbid")

    id: str
    input: CaseInput
    expected: Expected = Field(default_factory=Expected)
    tags: list[str] = Field(default_factory=list)
    world: str = Field(
        default=DEMO_WORLD,
        description="'demo' or the path of a tau2 db.json the case starts from (fresh per case).",
    )
    approvals: list[str] | None = Field(
        default=None, description="Scripted reviewer decisions, in order ('approve'/'reject')."
    )


def tau2_message(customer: dict[str, Any]) -> str:
    """The workflow input for a tau2 customer: known_info then reason_for_call."""
    return " ".join(tau2_turns(customer)[::-1])


def tau2_turns(customer: dict[str, Any]) -> list[str]:
    """The two-message form: reason_for_call alone, then known_info (what the customer says
    when asked who they are)."""
    parts = [
        str(customer.get("reason_for_call") or "").strip(),
        str(customer.get("known_info") or "").strip(),
    ]
    return [p for p in parts if p]


def case_from_tau2(task: dict[str, Any], world: str) -> EvalCase:
    """One tau2 task as an eval case starting from ``world`` (the reference db.json)."""
    return EvalCase(
        id=f"tau2-{task['id']}",
        input=CaseInput(message=tau2_message(task["customer"]), turns=tau2_turns(task["customer"])),
        expected=Expected(
            actions=[ToolCall.model_validate(a) for a in task.get("expected_actions", [])],
            communicate_info=[str(s) for s in task.get("communicate_info", [])],
            changes=task.get("expected_changes") or {},
        ),
        tags=["tau2"],
        world=world,
    )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(f"dataset {path} does not exist")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise ConfigError(f"{path}:{n}: not JSON: {exc}") from None
    return rows


def load_dataset(
    spec: str, *, root: Path | None = None, limit: int | None = None
) -> list[EvalCase]:
    """Cases from ``PATH.jsonl`` (our format) or ``tau2:PATH`` (tau2 tasks, db.json alongside).

    Relative paths are resolved against ``root`` (default: the working directory); a case's
    relative ``world`` path against its dataset's folder.
    """
    base = root or Path.cwd()
    if spec.startswith("tau2:"):
        path = (base / spec.removeprefix("tau2:")).resolve()
        world = path.parent / "db.json"
        if not world.is_file():
            raise ConfigError(f"tau2 dataset {path} needs its db.json next to it ({world})")
        cases = [case_from_tau2(t, str(world)) for t in _read_jsonl(path)]
    else:
        path = (base / spec).resolve()
        cases = []
        for row in _read_jsonl(path):
            case = EvalCase.model_validate(row)
            if case.world != DEMO_WORLD and not Path(case.world).is_absolute():
                case = case.model_copy(update={"world": str(path.parent / case.world)})
            cases.append(case)
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"dataset {spec} has duplicate case ids")
    return cases[:limit] if limit is not None else cases
