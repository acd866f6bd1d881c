"""Why retail cases failed: each failed case of a scorecard sorted into one finer cause.

The scorecard's own cause says which check failed (``db_state``, ``facts``...). For a
``db_state`` failure this compares the write calls the run executed with the reference's, per
tool and order, and names the first difference, in this order:

- ``missed request``: a reference write (tool and order) the run never made;
- ``extra action``: a write on an order, or of a kind, the reference does not make;
- ``wrong items``: the right tool and order, other items;
- ``wrong variant``: the right items, other new items;
- ``wrong payment``: only the payment method differs;
- ``other arguments``: an address, a reason...

    .venv/bin/python bench/retail_failures.py SCORECARD.json [SCORECARD.json ...]
        [--dataset ../shared/retail/tasks_train.jsonl]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from waypost.domains.retail.evals.oracle import CONSEQUENTIAL_TOOLS

CAUSES = (
    "missed request",
    "extra action",
    "wrong items",
    "wrong variant",
    "wrong payment",
    "other arguments",
)


def _key(call: dict[str, Any]) -> tuple[str, str | None]:
    return call["name"], call["arguments"].get("order_id") or call["arguments"].get("user_id")


def finer_cause(expected: list[dict[str, Any]], executed: list[dict[str, Any]]) -> str:
    """The first difference between the reference's writes and the run's, as a cause."""
    want = {_key(c): c["arguments"] for c in expected}
    got = {_key(c): c["arguments"] for c in executed}
    if set(want) - set(got):
        return "missed request"
    if set(got) - set(want):
        return "extra action"
    for key, args in want.items():
        mine = got[key]
        if sorted(args.get("item_ids") or []) != sorted(mine.get("item_ids") or []):
            return "wrong items"
        if sorted(args.get("new_item_ids") or []) != sorted(mine.get("new_item_ids") or []):
            return "wrong variant"
        if args.get("payment_method_id") != mine.get("payment_method_id"):
            return "wrong payment"
    return "other arguments"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scorecards", nargs="+", type=Path)
    parser.add_argument("--dataset", type=Path, default=Path("../shared/retail/tasks_train.jsonl"))
    args = parser.parse_args()
    tasks = {}
    for line in args.dataset.read_text(encoding="utf-8").splitlines():
        if line.strip():
            task = json.loads(line)
            tasks[f"tau2-{task['id']}"] = task
    for path in args.scorecards:
        card = json.loads(path.read_text(encoding="utf-8"))
        causes: Counter[str] = Counter()
        for case in card["cases"]:
            if case["passed"]:
                continue
            if case["cause"] != "db_state" or case["id"] not in tasks:
                causes[case["cause"] or "unknown"] += 1
                continue
            expected = [
                {"name": a["name"], "arguments": a["arguments"]}
                for a in tasks[case["id"]]["expected_actions"]
                if a["name"] in CONSEQUENTIAL_TOOLS
            ]
            executed = [c for c in case["executed"] if c.get("ok", True)]
            causes[f"db_state: {finer_cause(expected, executed)}"] += 1
        passed = sum(c["passed"] for c in card["cases"])
        print(f"{path.name}: {card.get('model')} {passed}/{len(card['cases'])} passed")
        for cause, n in causes.most_common():
            print(f"  {cause:<32} {n}")


if __name__ == "__main__":
    main()
