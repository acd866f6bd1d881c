"""The regression gate: compare a scorecard with a stored baseline, metric by metric.

A baseline file is JSON: the baseline's ``metrics``, per-case pass/fail (``cases``) and
``tolerances`` — how far each gated metric may move the wrong way before the gate fails. A
tolerance is absolute (``0.02``) or relative (``"10%"``); metrics without one are reported but
not gated. Lower is better for latency, cost, tokens, violations, errors and unsupported
claims; higher for the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from waypost.evals.scorecard import Scorecard
from waypost.runtime.errors import ConfigError

__all__ = [
    "DEFAULT_TOLERANCES",
    "GateResult",
    "baseline_from",
    "check_gate",
    "read_baseline",
    "write_baseline",
]

DEFAULT_TOLERANCES: dict[str, float | str] = {
    "pass_rate": 0.0,
    "db_state_mean": 0.0,
    "facts_mean": 0.0,
    "status_mean": 0.0,
    "forbidden_blocked_mean": 0.0,
    "groundedness_mean": 0.0,
    "unsupported_claims_mean": 0.0,
    "errors": 0.0,
    "cost_per_case_usd": "25%",
}
_LOWER_IS_BETTER = ("latency", "cost", "tokens", "violations", "errors", "unsupported")


def lower_is_better(metric: str) -> bool:
    return metric.startswith(_LOWER_IS_BETTER)


@dataclass
class GateResult:
    ok: bool
    regressions: list[str] = field(default_factory=list)
    flipped: list[str] = field(default_factory=list)  # passed in the baseline, fail now
    fixed: list[str] = field(default_factory=list)  # failed in the baseline, pass now
    new_cases: list[str] = field(default_factory=list)


def _allowed(base: float, tolerance: float | str) -> float:
    if isinstance(tolerance, str):
        text = tolerance.strip()
        if not text.endswith("%"):
            raise ConfigError(f"tolerance {tolerance!r} must be a number or a percentage")
        return abs(base) * float(text[:-1]) / 100
    return float(tolerance)


def baseline_from(
    card: Scorecard, tolerances: dict[str, float | str] | None = None
) -> dict[str, Any]:
    """The baseline document for ``card`` (tolerances: given, else the defaults)."""
    return {
        "workflow": card.workflow,
        "dataset": card.dataset,
        "model": card.model,
        "created_at": card.created_at.isoformat(),
        "tolerances": dict(tolerances if tolerances is not None else DEFAULT_TOLERANCES),
        "metrics": card.metrics,
        "cases": card.case_passed(),
    }


def read_baseline(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc}") from None
    if "metrics" not in data:
        raise ConfigError(f"baseline {path} has no 'metrics'")
    return data


def write_baseline(card: Scorecard, path: Path) -> dict[str, Any]:
    """Write ``card`` as the baseline, keeping the tolerances of an existing file."""
    tolerances = read_baseline(path).get("tolerances") if path.is_file() else None
    doc = baseline_from(card, tolerances)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return doc


def check_gate(card: Scorecard, baseline: dict[str, Any]) -> GateResult:
    """Every gated metric within tolerance of the baseline -> ok; lists flipped cases."""
    result = GateResult(ok=True)
    base_metrics: dict[str, float] = baseline.get("metrics", {})
    for name, tolerance in (baseline.get("tolerances") or {}).items():
        if name not in base_metrics or name not in card.metrics:
            continue
        base, now = float(base_metrics[name]), float(card.metrics[name])
        slack = _allowed(base, tolerance)
        worse = now - base if lower_is_better(name) else base - now
        if worse > slack + 1e-9:
            result.regressions.append(f"{name}: {base:g} -> {now:g} (tolerance {tolerance})")
    base_cases: dict[str, bool] = baseline.get("cases", {})
    for case_id, passed in card.case_passed().items():
        if case_id not in base_cases:
            result.new_cases.append(case_id)
        elif base_cases[case_id] and not passed:
            result.flipped.append(case_id)
        elif not base_cases[case_id] and passed:
            result.fixed.append(case_id)
    result.ok = not result.regressions
    return result
