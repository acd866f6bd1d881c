"""Tool-call trajectory match: strict (same calls, same order), unordered, or subset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

__all__ = ["call_key", "trajectory_score"]


class _Call(Protocol):
    name: str
    arguments: dict[str, Any]


def _canon(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _canon(v)) for k, v in value.items() if v is not None))
    if isinstance(value, list):
        return tuple(_canon(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def call_key(call: _Call) -> tuple[str, Any]:
    """A hashable identity of a call: name plus canonical arguments (nulls dropped).

    A transfer's free-text summary is ignored: any summary is a correct transfer.
    """
    args = {} if call.name == "transfer_to_human_agents" else call.arguments
    return call.name, _canon(args)


def trajectory_score(
    expected: Sequence[_Call],
    actual: Sequence[_Call],
    mode: Literal["strict", "unordered", "subset"],
) -> tuple[float, str]:
    """(score in [0, 1], explanation). ``subset``: every expected call occurs in ``actual``."""
    want = [call_key(c) for c in expected]
    got = [call_key(c) for c in actual]
    if not want and not got:
        return 1.0, "no calls expected, none made"
    if mode == "strict":
        ok = want == got
        return float(ok), "identical sequence" if ok else f"expected {len(want)}, got {len(got)}"
    remaining = list(got)
    matched = 0
    for key in want:
        if key in remaining:
            remaining.remove(key)
            matched += 1
    if mode == "subset":
        value = matched / len(want) if want else 1.0
        return value, f"{matched}/{len(want)} expected calls made"
    denominator = max(len(want), len(got))
    return matched / denominator, f"{matched} matched of {len(want)} expected, {len(got)} made"
