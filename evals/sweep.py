"""Routing chosen by evals: run one dataset under several step assignments and recommend one.

``waypost eval WORKFLOW -d D --sweep SWEEP`` runs the dataset once per assignment (each an
ordinary eval run: scorecard written and stored, the assignment in it), prints per assignment
the pass rate with its 95% interval, p50/p95 case latency, tokens and USD, and recommends the
cheapest assignment whose pass rate is within ``tolerance`` of the best one: lowest USD per
case, then lowest p50 latency (what a local model costs), then fewest tokens.
``--write-routing PATH`` writes the recommendation as a routing file (``WAYPOST_ROUTING__FILE``
or ``--routing PATH`` read it).

A sweep is a JSON/TOML file::

    {"tolerance": 0.05,
     "assignments": [
        {"name": "0.5b", "routing": "*=local:qwen2.5-coder-0.5b"},
        {"name": "plan-cascade", "routing": {"retail_support": {"plan": {...}}}}]}

or inline: assignments in the compact form separated by ``;``
(``"*=local:a; *=local:b; intake=local:a,plan=local:a>local:b"``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from rich.console import Console
from rich.table import Table
from waypost.agents.routing import RoutingTable, parse_route_spec, parse_routing
from waypost.evals.cli_run import EvalOptions, run_eval
from waypost.evals.scorecard import Scorecard
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import Settings

__all__ = [
    "Assignment",
    "SweepPlan",
    "SweepResult",
    "load_sweep",
    "recommend",
    "routing_arg",
    "run_sweep",
    "write_routing",
]

DEFAULT_TOLERANCE = 0.05


@dataclass(frozen=True)
class Assignment:
    name: str
    routing: RoutingTable


@dataclass(frozen=True)
class SweepPlan:
    assignments: list[Assignment]
    tolerance: float = DEFAULT_TOLERANCE


@dataclass
class SweepResult:
    cards: list[tuple[Assignment, Scorecard]]
    recommended: tuple[Assignment, Scorecard]
    tolerance: float


def routing_arg(value: str, workflow: str) -> RoutingTable:
    """``--routing``: a JSON/TOML routing file, or the compact form for ``workflow``."""
    from waypost.agents.routing import load_routing

    if Path(value).suffix in (".json", ".toml") or Path(value).is_file():
        return load_routing(value)
    return parse_route_spec(value, workflow)


def _assignment(raw: Any, workflow: str, index: int) -> Assignment:
    if isinstance(raw, str):
        table = parse_route_spec(raw, workflow)
        return Assignment(table.label(workflow), table)
    if not isinstance(raw, dict) or "routing" not in raw:
        raise ConfigError(f"sweep assignment {index} must be a spec string or {{name, routing}}")
    routing = raw["routing"]
    table = (
        parse_route_spec(routing, workflow)
        if isinstance(routing, str)
        else parse_routing(routing, source=f"sweep assignment {index}")
    )
    return Assignment(str(raw.get("name") or table.label(workflow)), table)


def load_sweep(value: str, workflow: str) -> SweepPlan:
    """A sweep from a JSON/TOML file or an inline ``;``-separated list of compact specs."""
    path = Path(value)
    if path.suffix in (".json", ".toml") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"sweep file {path} does not exist")
        text = path.read_text(encoding="utf-8")
        try:
            raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"sweep file {path} is not valid: {exc}") from exc
        if isinstance(raw, list):
            raw = {"assignments": raw}
        if not isinstance(raw, dict) or not isinstance(raw.get("assignments"), list):
            raise ConfigError(f"sweep file {path} needs an 'assignments' list")
        items, tolerance = raw["assignments"], raw.get("tolerance", DEFAULT_TOLERANCE)
    else:
        items = [part for part in (p.strip() for p in value.split(";")) if part]
        tolerance = DEFAULT_TOLERANCE
    assignments = [_assignment(item, workflow, i) for i, item in enumerate(items)]
    if not assignments:
        raise ConfigError("a sweep needs at least one assignment")
    names = [a.name for a in assignments]
    if len(set(names)) != len(names):
        raise ConfigError(f"sweep assignment names must differ: {names}")
    if not isinstance(tolerance, int | float) or not 0 <= tolerance <= 1:
        raise ConfigError("sweep tolerance is a pass-rate difference between 0 and 1")
    return SweepPlan(assignments, float(tolerance))


def _cost_key(card: Scorecard) -> tuple[float, float, float]:
    m = card.metrics
    return (
        m.get("cost_per_case_usd", 0.0),
        m.get("latency_p50_s", 0.0),
        m.get("tokens_total", 0.0),
    )


def recommend(
    cards: list[tuple[Assignment, Scorecard]], tolerance: float
) -> tuple[Assignment, Scorecard]:
    """The cheapest assignment whose pass rate is within ``tolerance`` of the best one."""
    best = max(card.pass_rate for _, card in cards)
    eligible = [(a, c) for a, c in cards if c.pass_rate >= best - tolerance - 1e-9]
    return min(eligible, key=lambda ac: _cost_key(ac[1]))


def run_sweep(
    options: EvalOptions,
    plan: SweepPlan,
    settings: Settings,
    console: Console,
    *,
    chat_factory: Callable[[str], BaseChatModel] | None = None,
) -> SweepResult:
    """One eval run per assignment, then the comparison table and the recommendation."""
    cards: list[tuple[Assignment, Scorecard]] = []
    for i, assignment in enumerate(plan.assignments, 1):
        console.rule(f"assignment {i}/{len(plan.assignments)}: {assignment.name}")
        run = replace(options, routing=assignment.routing, assignment=assignment.name)
        outcome = run_eval(run, settings, console, chat_factory=chat_factory)
        cards.append((assignment, outcome.card))
    result = SweepResult(cards, recommend(cards, plan.tolerance), plan.tolerance)
    print_sweep(result, console)
    return result


def print_sweep(result: SweepResult, console: Console) -> None:
    first = result.cards[0][1]
    table = Table(title=f"sweep · {first.workflow} · {first.dataset} · {first.n} cases")
    # the routing column only when names differ from the routes they stand for
    named = any(a.name != c.model.removeprefix("routing:") for a, c in result.cards)
    for name, justify in (
        ("assignment", "left"),
        *((("routing", "left"),) if named else ()),
        ("pass", "right"),
        ("95% CI", "right"),
        ("p50 s", "right"),
        ("p95 s", "right"),
        ("tokens", "right"),
        ("USD", "right"),
    ):
        table.add_column(name, justify=justify)
    chosen = result.recommended[0].name
    for assignment, card in result.cards:
        lo, hi = card.ci95
        m = card.metrics
        mark = " *" if assignment.name == chosen else ""
        table.add_row(
            assignment.name + mark,
            *((card.model.removeprefix("routing:"),) if named else ()),
            f"{card.passed}/{card.n} = {card.pass_rate:.1%}",
            f"{lo:.1%}-{hi:.1%}",
            f"{m.get('latency_p50_s', 0):.1f}",
            f"{m.get('latency_p95_s', 0):.1f}",
            f"{int(m.get('tokens_total', 0)):,}",
            f"{m.get('cost_total_usd', 0):.4f}",
        )
    console.print(table)
    best = max(c.pass_rate for _, c in result.cards)
    console.print(
        f"recommended: [bold]{chosen}[/bold] (cheapest within {result.tolerance:.0%} of the best "
        f"pass rate {best:.1%}: lowest USD per case, then p50 latency, then tokens)"
    )


def write_routing(result: SweepResult, path: Path) -> None:
    """The recommended assignment as a routing file, with the figures that chose it."""
    assignment, card = result.recommended
    body = {
        "routing": assignment.routing.to_json(),
        "chosen_by": {
            "assignment": assignment.name,
            "workflow": card.workflow,
            "dataset": card.dataset,
            "cases": card.n,
            "pass_rate": card.pass_rate,
            "ci95": list(card.ci95),
            "latency_p50_s": card.metrics.get("latency_p50_s"),
            "tokens_total": card.metrics.get("tokens_total"),
            "cost_total_usd": card.metrics.get("cost_total_usd"),
            "tolerance": result.tolerance,
            "compared": [a.name for a, _ in result.cards],
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
