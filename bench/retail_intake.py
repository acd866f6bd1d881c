"""How well the retail intake reads what a customer asks for: model against code.

For every case of a tau2 dataset, the intake step runs twice on the case's message: the model
(through the real model layer: grounded JSON schema, re-asks, the pattern merge) and the code
intake alone (``code_requests``: clauses, negations, fallbacks). Each is compared with the
reference: the kinds of the reference's write calls (an exchange and a modification count as
one kind, "items": the order's status decides between them). A fallback request ("if it
cannot be returned, cancel it") counts only where the reference used it.

Prints, for model and code, the cases whose kinds match exactly, per-kind precision and
recall, and p50/p95 of the model call; ``--out FILE`` keeps every case's intakes as JSON.

    .venv/bin/python bench/retail_intake.py [-m local:qwen2.5-coder-0.5b]
        [--dataset tau2:../shared/retail/tasks_train.jsonl] [--concurrency 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.progress import Progress
from waypost.domains.retail.evals.oracle import CONSEQUENTIAL_TOOLS
from waypost.domains.retail.intake import (
    fallback_intake,
    grounded_intake_model,
    intake_messages,
    merge_patterns,
)
from waypost.domains.retail.state import Intake, RequestKind
from waypost.evals.dataset import EvalCase, load_dataset
from waypost.graphs.kit import StepModelsCaller
from waypost.retrieval.metrics import percentile
from waypost.runtime.errors import ModelError
from waypost.runtime.settings import Settings

_TOOL_KIND = {
    "modify_pending_order_items": "items",
    "exchange_delivered_order_items": "items",
    "cancel_pending_order": "cancel",
    "return_delivered_order_items": "return",
    "modify_pending_order_address": "order_address",
    "modify_user_address": "user_address",
    "modify_pending_order_payment": "payment",
    "transfer_to_human_agents": "human",
}
_REQUEST_KIND = {
    RequestKind.modify_items: "items",
    RequestKind.exchange_items: "items",
    RequestKind.cancel_order: "cancel",
    RequestKind.return_items: "return",
    RequestKind.modify_order_address: "order_address",
    RequestKind.modify_user_address: "user_address",
    RequestKind.modify_payment: "payment",
    RequestKind.human_agent: "human",
}


def reference_kinds(case: EvalCase) -> set[str]:
    return {_TOOL_KIND[c.name] for c in case.expected.consequential(CONSEQUENTIAL_TOOLS)}


def intake_kinds(intake: Intake, reference: set[str]) -> set[str]:
    """First-hand kinds, plus fallback kinds the reference used (it tried what came first)."""
    out = set()
    for r in intake.requests:
        kind = _REQUEST_KIND.get(r.kind)
        if kind and (not r.fallback or kind in reference):
            out.add(kind)
    return out


def _scores(rows: list[tuple[set[str], set[str]]]) -> tuple[int, dict[str, tuple[float, float]]]:
    exact = sum(got == ref for got, ref in rows)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for got, ref in rows:
        for k in got & ref:
            tp[k] += 1
        for k in got - ref:
            fp[k] += 1
        for k in ref - got:
            fn[k] += 1
    kinds = sorted(set(tp) | set(fp) | set(fn))
    per = {k: (tp[k] / ((tp[k] + fp[k]) or 1), tp[k] / ((tp[k] + fn[k]) or 1)) for k in kinds}
    return exact, per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", default="local:qwen2.5-coder-0.5b")
    parser.add_argument("--dataset", default="tau2:../shared/retail/tasks_train.jsonl")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cases = load_dataset(args.dataset, root=Path.cwd())[: args.limit]
    settings = Settings()
    caller = StepModelsCaller(
        settings.model_copy(
            update={"models": settings.models.model_copy(update={"default": args.model})}
        )
    )

    def run(case: EvalCase) -> dict[str, Any]:
        message = case.input.message
        t0 = time.perf_counter()
        error = None
        try:
            value, _ = caller("intake", grounded_intake_model(message), intake_messages(message))
            model = merge_patterns(Intake.model_validate(value.model_dump()), message)
        except ModelError as exc:
            model, error = fallback_intake(message), exc.code
        return {
            "id": case.id,
            "seconds": time.perf_counter() - t0,
            "error": error,
            "model": model,
            "code": fallback_intake(message),
            "reference": reference_kinds(case),
        }

    with Progress() as progress, ThreadPoolExecutor(args.concurrency) as pool:
        task = progress.add_task("intake", total=len(cases))
        results = []
        for r in pool.map(run, cases):
            results.append(r)
            progress.advance(task)
    print(f"{len(results)} cases, model {args.model}")
    for name in ("model", "code"):
        rows = [(intake_kinds(r[name], r["reference"]), r["reference"]) for r in results]
        exact, per = _scores(rows)
        print(f"  {name}: kinds exact {exact}/{len(results)}")
        for kind, (p, rc) in per.items():
            print(f"    {kind:<14} precision {p:.2f} recall {rc:.2f}")
    secs = [r["seconds"] for r in results]
    errors = sum(1 for r in results if r["error"])
    print(
        f"  model call p50 {percentile(secs, 50):.1f} s, p95 {percentile(secs, 95):.1f} s, "
        f"{errors} failed calls (code intake used)"
    )
    if args.out is not None:
        args.out.write_text(
            json.dumps(
                [
                    {
                        **r,
                        "model": r["model"].model_dump(mode="json"),
                        "code": r["code"].model_dump(mode="json"),
                        "reference": sorted(r["reference"]),
                    }
                    for r in results
                ],
                indent=1,
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
