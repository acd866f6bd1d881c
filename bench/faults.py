"""Fault figures: runs submitted, completed, degraded, failed, lost, duplicated, HTTP 5xx.

Four scenarios against a real API on loopback (``tests/faults/scenarios.py``; the pytest suite
runs the same ones smaller and asserts 0 lost, 0 duplicated, 0 5xx):

- a model that fails 30% of its calls (timeouts, HTTP 5xx, malformed output);
- every database connection killed repeatedly under load (``--restart-cluster``: restart the
  PostgreSQL server instead; the server is shared, so only when nobody else uses it);
- ``waypost worker`` processes SIGKILLed in a loop, each right after it acted in a run;
- tracing to a Langfuse that accepts connections and never answers.

Usage::

    .venv/bin/python bench/faults.py --runs 100
    .venv/bin/python bench/faults.py --only model --runs 300
    .venv/bin/python bench/faults.py --only database --restart-cluster   # alone on the machine

PostgreSQL scenarios create and drop their own database on ``--postgres`` (default: the test
server). Everything stays on 127.0.0.1; each scenario is bounded by its run count and deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the scenarios live with the tests that assert them

from sqlalchemy import create_engine, text  # noqa: E402
from waypost.observability.tracing import close_tracing  # noqa: E402

from tests.faults import scenarios  # noqa: E402
from tests.faults.harness import Figures  # noqa: E402

SCENARIOS = ("model", "database", "workers", "langfuse")


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    name = f"waypost_faults_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def run(args: argparse.Namespace) -> list[Figures]:
    chosen = args.only or list(SCENARIOS)
    results: list[Figures] = []
    if "model" in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/faults.db"
            results.append(await scenarios.flaky_model(url, args.runs, args.failure_rate))
        print(results[-1].report(), flush=True)
    if "database" in chosen:
        with fresh_postgres(args.postgres) as url:
            results.append(
                await scenarios.database_connections_killed(
                    url,
                    args.postgres,
                    args.runs,
                    kills=args.kills,
                    every_s=args.every,
                    restart=args.restart_cluster,
                )
            )
        print(results[-1].report(), flush=True)
    if "workers" in chosen:
        with fresh_postgres(args.postgres) as url:
            results.append(await scenarios.workers_killed(url, args.runs, kills=args.kills))
        print(results[-1].report(), flush=True)
    if "langfuse" in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                results.append(await scenarios.slow_langfuse(f"sqlite:///{tmp}/f.db", args.runs))
            finally:
                close_tracing(1.0)
        print(results[-1].report(), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="runs per scenario")
    parser.add_argument("--only", action="append", choices=SCENARIOS)
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--kills", type=int, default=3, help="connection kills / worker kills")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between kills")
    parser.add_argument("--restart-cluster", action="store_true")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the faults are deliberate: their warnings are noise here
    results = asyncio.run(run(args))
    print("\n| scenario | submitted | completed | degraded | failed | lost | duplicated | 5xx |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for f in results:
        print(
            f"| {f.scenario} | {f.submitted} | {f.completed} | {f.degraded} | {f.failed} | "
            f"{f.lost} | {f.duplicated} | {f.http_5xx} |"
        )
    bad = [f for f in results if f.lost or f.duplicated or f.http_5xx]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
