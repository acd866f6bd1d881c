"""How far retail_support's code gets without a model: the resolver and the code intake.

Runs the tau2 train suite through the real ``retail_support`` graph, store and scoring with
no planner model (every plan is the code draft, ``domains/retail/resolve.py``), and either

- ``--intake gold``: the gold oracle's intake (one request per reference write call, its kind
  and the order id only when the message writes it: no items, no wishes), so the figure
  measures the resolver: orders, items, variants, payment methods and addresses from the text;
- ``--intake code``: no model at all (pattern identity, requests proven by words), what a run
  degrades to when every model call fails.

Prints the pass count and failures by cause; ``--out FILE`` writes per-case outcomes as JSON.

    .venv/bin/python bench/retail_resolver.py [--intake gold|code]
        [--dataset tau2:../shared/retail/tasks_train.jsonl] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from waypost.evals.adapter import EvalAdapter
from waypost.evals.dataset import EvalCase, load_dataset
from waypost.evals.models import ModelSetup
from waypost.evals.runner import run_cases
from waypost.evals.workflows import get_workflow
from waypost.graphs.kit import StructuredCall
from waypost.runtime.errors import ModelError
from waypost.runtime.settings import Settings


class _NoPlanner(ModelSetup):
    """The gold intake (or none) and no planner: plans are the resolver's drafts."""

    intake: str = "gold"

    def structured(
        self, case: EvalCase, initial_db: Mapping[str, Any], adapter: EvalAdapter
    ) -> StructuredCall:
        oracle = adapter.oracles["scripted:gold"](case, initial_db)

        def call(step: str, schema: type[Any], pairs: list[tuple[str, str]], /, **_: Any) -> Any:
            if step == "plan" or self.intake == "code":
                raise ModelError("no model in this measurement")  # the graph degrades to code
            return oracle(step, schema, pairs)

        return call  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intake", choices=("gold", "code"), default="gold")
    parser.add_argument("--dataset", default="tau2:../shared/retail/tasks_train.jsonl")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cases = load_dataset(args.dataset, root=Path.cwd())
    setup = _NoPlanner(name="scripted:gold", settings=Settings())
    setup.intake = args.intake
    results = run_cases(cases, get_workflow("retail_support"), setup, progress=False)
    causes: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if not r.passed:
            causes[r.cause or "unknown"].append(r.case_id)
    passed = sum(r.passed for r in results)
    print(f"intake={args.intake} planner=none: {passed}/{len(results)} passed")
    for cause, ids in sorted(causes.items()):
        print(f"  {cause} ({len(ids)}): {', '.join(ids[:12])}{' ...' if len(ids) > 12 else ''}")
    if args.out is not None:
        args.out.write_text(
            json.dumps(
                {
                    r.case_id: {
                        "passed": r.passed,
                        "cause": r.cause,
                        "status": r.record.status,
                        "executed": [c.model_dump() for c in r.record.executed],
                        "dropped": r.record.dropped,
                    }
                    for r in results
                },
                indent=1,
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
