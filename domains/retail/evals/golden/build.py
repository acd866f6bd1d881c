"""Build ``retail_golden.jsonl`` (and its smoke subset) from the deterministic demo store.

Run ``python -m waypost.domains.retail.evals.golden.build``. Cases are picked from
``generate_demo_db`` with its default seed by rules (first customer with a pending order paid
by card, ...), so the output is the same on every machine. Expected changes are not written by
hand: the expected tool calls are applied to a fresh store through the real tool registry, and
the records that changed are exported in tau2's ``expected_changes`` format.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from waypost.domains.retail.evals.golden._actions import action_cases
from waypost.domains.retail.evals.golden._other import other_cases, refusal_cases
from waypost.domains.retail.evals.worlds import WorldTemplates
from waypost.domains.retail.tools import CONSEQUENTIAL_TOOLS, build_retail_registry
from waypost.evals.dataset import DEMO_WORLD, EvalCase
from waypost.evals.evaluators import strip_nulls
from waypost.tools.base import ToolContext

__all__ = ["build_cases", "expected_changes", "main"]

# the datasets live with the other golden sets, in the project's evals/datasets
HERE = Path(__file__).resolve().parents[4] / "evals" / "datasets"
SMOKE_IDS = (
    "cancel-1",
    "modify-items-1",
    "return-1",
    "exchange-1",
    "refuse-cancel-delivered",
    "refuse-exchange-other-product",
    "transfer-1",
    "unknown-email",
    "reject-cancel",
)


def build_cases() -> list[dict[str, Any]]:
    return action_cases() + refusal_cases() + other_cases()


def expected_changes(raw: list[dict[str, Any]], workdir: Path) -> list[dict[str, Any]]:
    """Fill ``expected.changes`` by applying each case's write calls to a fresh demo store."""
    worlds = WorldTemplates(workdir)
    initial = worlds.initial(DEMO_WORLD)
    registry = build_retail_registry()
    out = []
    for row in raw:
        case = EvalCase.model_validate(row)
        with worlds.fresh(DEMO_WORLD, case.id) as store:
            ctx = ToolContext(session_factory=store.session_factory, run_id=f"golden-{case.id}")
            for n, call in enumerate(case.expected.consequential(CONSEQUENTIAL_TOOLS)):
                if case.approvals and n < len(case.approvals) and case.approvals[n] == "reject":
                    continue  # the reviewer refuses it: the store must stay as it was
                outcome = registry.execute(call.name, call.arguments, ctx, f"call-{n}")
                if not outcome.ok:
                    raise SystemExit(f"{case.id}: expected call {call.name} fails: {outcome.error}")
            final = store.export()
        changes: dict[str, Any] = {}
        for table, records in final.items():
            changed = {
                key: strip_nulls(rec)
                for key, rec in sorted(records.items())
                if strip_nulls(rec) != strip_nulls(initial[table].get(key))
            }
            if changed:
                changes[table] = {"changed": changed}
        row["expected"]["changes"] = changes
        out.append(row)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = expected_changes(build_cases(), Path(tmp))
    golden, smoke = HERE / "retail_golden.jsonl", HERE / "retail_smoke.jsonl"
    golden.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    by_id = {r["id"]: r for r in rows}
    smoke.write_text("".join(json.dumps(by_id[i], sort_keys=True) + "\n" for i in SMOKE_IDS))
    tags = sorted({t for r in rows for t in r["tags"]})
    print(
        f"{len(rows)} cases -> {golden.name} ({len(SMOKE_IDS)} in {smoke.name}); tags: {tags}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
