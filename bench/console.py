"""Console page latency with a busy database: p50/p95 per page over N requests.

Seeds ``--runs`` runs (default 10 000) straight into the tables in SQL, as a month of traffic
would leave them: runs over 30 days in three workflows and two tenants, four usage-ledger rows
per run (two model calls, a tool call, a reply) and their daily roll-up, a stored ``values``
event per run, approvals (most decided with their audit events, some pending) and a month of
eval scorecards. Then it starts the real ``waypost serve --no-workers`` in its own process,
logs in through the console's form with an admin key, and times every page sequentially from
a client in this process: the inbox, an approval, the runs list (plain and filtered), a run
page, the dashboard over 24 hours and 30 days (the tenant, and all tenants), and the first
inbox event over SSE.

``--screenshots DIR`` also saves PNGs of the inbox, an approval, a run page and the dashboard
from headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright).

    .venv/bin/python bench/console.py [--runs 10000] [-n 40] [--database-url postgresql://...]
        [--screenshots docs/img]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert
from waypost.domains.retail.tools import build_retail_registry
from waypost.evals.persist import EvalScorecardRow
from waypost.graphs.plugins import migrate
from waypost.observability.ledger import LedgerEntry
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings
from waypost.runtime.usage_rollup import rebuild
from waypost.server.identity import ApprovalEvent, IdentityStore
from waypost.server.models import Approval, Run, RunEvent, Thread

WORKFLOWS = {  # workflow: (steps as (kind, node, name, typical ms), share of runs)
    "retail_support": (
        [
            ("llm", "intake", "openai:gpt-4o-mini", 900),
            ("llm", "plan", "openai:gpt-4o-mini", 1400),
            ("tool", "execute", "exchange_delivered_order_items", 60),
            ("llm", "reply", "local:qwen2.5-coder-0.5b", 2200),
        ],
        0.6,
    ),
    "refund_desk": (
        [
            ("llm", "triage", "anthropic:claude-haiku", 700),
            ("tool", "lookup", "get_order_details", 25),
            ("tool", "refund", "refund_payment", 120),
            ("llm", "answer", "anthropic:claude-haiku", 1100),
        ],
        0.3,
    ),
    "helpdesk": (
        [
            ("llm", "classify", "local:qwen2.5-coder-0.5b", 1600),
            ("tool", "search", "search_kb", 40),
            ("tool", "act", "reset_password", 200),
            ("llm", "answer", "openai:gpt-4o-mini", 1000),
        ],
        0.1,
    ),
}
PRICES = {"openai:gpt-4o-mini": (0.15, 0.6), "anthropic:claude-haiku": (0.8, 4.0)}
MESSAGES = [
    "I'm Ada Byron, zip 62701. Please exchange the white desk lamp in order #W{n} for the black"
    " one, paid with my credit card.",
    "Hi, this is Grace Hopper (grace@example.com). The kettle from #W{n} arrived broken, can I"
    " get my money back?",
    "Alan Turing here, zip 10001. Cancel order #W{n} please, I ordered it by mistake.",
]


def _ts(moment: dt.datetime) -> dt.datetime:
    return moment


def seed(url: str, runs: int, *, seed_value: int = 7) -> dict[str, Any]:
    """Write a month of traffic; returns ids worth looking at (a pending approval, a run)."""
    rng = random.Random(seed_value)
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    factory = make_session_factory(engine)
    exchange = build_retail_registry().get("exchange_delivered_order_items").spec
    now = dt.datetime.now(dt.UTC)
    threads, run_rows, ledger, events, approvals, audit = [], [], [], [], [], []
    names, weights = list(WORKFLOWS), [w for _, w in WORKFLOWS.values()]
    sample_run = sample_approval = None
    for i in range(runs):
        tenant = "default" if rng.random() < 0.8 else "acme"
        workflow = rng.choices(names, weights)[0]
        created = now - dt.timedelta(seconds=rng.uniform(60, 30 * 86400))
        thread_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
        roll = rng.random()
        status = "success" if roll < 0.86 else "error" if roll < 0.92 else "interrupted"
        if i >= runs - 3:  # the newest few are still queued or running
            status, created = ("pending", "running", "running")[runs - 1 - i], now
        message = rng.choice(MESSAGES).format(n=f"{1000000 + i:07d}")
        started = created + dt.timedelta(milliseconds=rng.uniform(5, 80))
        at, tin, tout, usd = started, 0, 0, 0.0
        for kind, node, name, typical in WORKFLOWS[workflow][0]:
            latency = max(typical * rng.lognormvariate(0, 0.35), 1.0)
            at = at + dt.timedelta(milliseconds=latency + rng.uniform(1, 15))
            i_tok = rng.randint(400, 2400) if kind == "llm" else 0
            o_tok = rng.randint(30, 300) if kind == "llm" else 0
            price = PRICES.get(name, (0.0, 0.0))
            cost = (i_tok * price[0] + o_tok * price[1]) / 1e6
            failed = status == "error" and node == WORKFLOWS[workflow][0][-1][1]
            tin, tout, usd = tin + i_tok, tout + o_tok, usd + cost
            ledger.append(
                {
                    "kind": kind,
                    "run_id": run_id,
                    "thread_id": thread_id,
                    "tenant": tenant,
                    "workflow": workflow,
                    "node": node,
                    "name": name,
                    "input_tokens": i_tok,
                    "output_tokens": o_tok,
                    "usd": cost,
                    "price_known": True,
                    "latency_ms": latency,
                    "status": "error" if failed else "ok",
                    "error_code": rng.choice(["model_timeout", "provider_error"])
                    if failed
                    else None,
                    "created_at": at,
                }
            )
        finished = at + dt.timedelta(milliseconds=rng.uniform(2, 30))
        threads.append(
            {
                "thread_id": thread_id,
                "tenant": tenant,
                "status": "interrupted" if status == "interrupted" else "idle",
                "metadata": {"graph_id": workflow},
                "values": {"message": message},
                "created_at": created,
                "updated_at": finished,
            }
        )
        run_rows.append(
            {
                "run_id": run_id,
                "thread_id": thread_id,
                "assistant_id": workflow,
                "graph_id": workflow,
                "tenant": tenant,
                "status": status,
                "input": {"message": message},
                "config": {},
                "kwargs": {"stream_mode": ["values"]},
                "metadata": {},
                "multitask_strategy": "reject",
                "attempt": 1,
                "error": {"error": rng.choice(["ModelTimeout", "ProviderError", "ToolError"])}
                if status == "error"
                else None,
                "input_tokens": tin,
                "output_tokens": tout,
                "usd": usd,
                "created_at": created,
                "updated_at": finished,
                "started_at": None if status == "pending" else started,
                "finished_at": None if status in ("pending", "running") else finished,
            }
        )
        call_id = f"call_{i:06d}"
        events.append(
            {
                "run_id": run_id,
                "seq": 0,
                "event": "values",
                "data": {
                    "message": message,
                    "messages": [
                        {"type": "human", "content": message},
                        {
                            "type": "ai",
                            "content": "",
                            "tool_calls": [
                                {
                                    "id": call_id,
                                    "name": "get_order_details",
                                    "args": {"order_id": f"#W{1000000 + i:07d}"},
                                }
                            ],
                        },
                        {
                            "type": "tool",
                            "tool_call_id": call_id,
                            "content": '{"status": "delivered", "total": 100.0}',
                        },
                    ],
                },
                "created_at": finished,
            }
        )
        if workflow != "helpdesk" and status in ("interrupted", "success") and rng.random() < 0.2:
            pending = status == "interrupted" and rng.random() < 0.15
            args = {
                "order_id": f"#W{1000000 + i:07d}",
                "item_ids": ["1008292230"],
                "new_item_ids": ["1008292231"],
                "payment_method_id": "credit_card_1",
            }
            approval_id = str(uuid.uuid4())
            asked = started + dt.timedelta(seconds=3)
            decided = asked + dt.timedelta(seconds=rng.lognormvariate(4.5, 1.0))
            approvals.append(
                {
                    "id": approval_id,
                    "run_id": run_id,
                    "thread_id": thread_id,
                    "tenant": tenant,
                    "workflow": workflow,
                    "interrupt_id": uuid.uuid4().hex,
                    "status": "pending" if pending else "approved",
                    "payload": {
                        "type": "tool_approval",
                        "tool": "exchange_delivered_order_items",
                        "arguments": args,
                        "summary": f"Exchange the desk lamp in order {args['order_id']} "
                        "(white -> black), refund 10.00 USD to credit_card_1",
                        "risk": "write",
                        "call_id": "action-0",
                        "policy": "§7 Exchanging delivered items",
                        "details": {"price_difference": -10.0, "user_id": "ada_byron_1815"},
                        "args_schema": exchange.parameters,
                        "allowed": ["approve", "edit", "reject"],
                    },
                    "decision": None if pending else {"decision": "approve"},
                    "decided_by": None if pending else "key:rita",
                    "decided_at": None if pending else decided,
                    "created_at": asked,
                }
            )
            audit.append(
                {
                    "approval_id": approval_id,
                    "tenant": tenant,
                    "event": "requested",
                    "actor": f"workflow:{workflow}",
                    "arguments_before": args,
                    "at": asked,
                }
            )
            if not pending:
                audit.append(
                    {
                        "approval_id": approval_id,
                        "tenant": tenant,
                        "event": "approved",
                        "actor": "key:rita",
                        "arguments_before": args,
                        "arguments_after": args,
                        "at": decided,
                    }
                )
            elif tenant == "default":
                sample_approval = approval_id
        if tenant == "default" and status == "success" and workflow == "retail_support":
            sample_run = run_id
    cards = [
        {
            "tenant": tenant,
            "workflow": "retail_support",
            "dataset": "retail_golden",
            "model": model,
            "approvals": "auto",
            "n_cases": 40,
            "passed": round(40 * rate),
            "pass_rate": round(rate, 3),
            "ci_low": max(rate - 0.1, 0),
            "ci_high": min(rate + 0.1, 1),
            "wall_s": 60.0,
            "metrics": {},
            "failures": {},
            "cases": [],
            "created_at": now - dt.timedelta(days=day, hours=rng.uniform(0, 6)),
        }
        for tenant in ("default", "acme")
        for day in range(29, -1, -2)
        for model, base in (("openai:gpt-4o-mini", 0.82), ("local:qwen2.5-coder-0.5b", 0.55))
        for rate in [min(max(base + rng.uniform(-0.06, 0.06) + (29 - day) * 0.003, 0), 1)]
    ]
    with factory() as session, session.begin():
        for table, rows in (
            (Thread, threads),
            (Run, run_rows),
            (LedgerEntry, ledger),
            (RunEvent, events),
            (Approval, approvals),
            (ApprovalEvent, audit),
            (EvalScorecardRow, cards),
        ):
            for start in range(0, len(rows), 2000):
                session.execute(insert(table), rows[start : start + 2000])
        # the ledger rows went in behind LedgerWriter's back: roll them up the way migration
        # 0011 does for an existing database
        rebuild(session.connection())
    store = IdentityStore(factory)
    key = store.create_key("default", "admin", name="bench").key
    engine.dispose()
    return {
        "key": key,
        "run_id": sample_run,
        "approval_id": sample_approval,
        "counts": {
            "runs": len(run_rows),
            "ledger": len(ledger),
            "approvals": len(approvals),
            "pending": sum(1 for a in approvals if a["status"] == "pending"),
            "events": len(events),
        },
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, cache_s: float) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "WAYPOST_DATABASE__URL": url,
        "WAYPOST_SECRET_KEY": "bench-console-secret",
        "WAYPOST_LOG_LEVEL": "WARNING",
        "WAYPOST_LIMITS__REQUESTS_PER_MINUTE": "100000",
        "WAYPOST_API__CONSOLE_CACHE_S": str(cache_s),
    }
    waypost = Path(sys.executable).with_name("waypost")
    proc = subprocess.Popen(
        [str(waypost), "serve", "--no-workers", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
        try:
            if httpx.get(f"{base}/ok", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the server did not start")


def login(client: httpx.Client, key: str) -> None:
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:200]
    done = client.post("/console/login", data={"api_key": key, "csrf_token": token.group(1)})
    assert done.status_code == 303, done.text[:200]


def cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def time_pages(
    base: str, key: str, pages: dict[str, str], n: int, pid: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Wall ms of each request per page, and the server's CPU ms per request."""
    times: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        login(client, key)
        for name, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm: templates, caches
            samples = []
            before = cpu_ms(pid)
            for _ in range(n):
                start = time.perf_counter()
                answer = client.get(path)
                samples.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            cpu[name] = (cpu_ms(pid) - before) / n
            times[name] = samples
        samples = []
        for _ in range(max(n // 4, 3)):
            start = time.perf_counter()
            with client.stream("GET", "/console/approvals/stream") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event: inbox"):
                        samples.append((time.perf_counter() - start) * 1000)
                        break
        times["inbox SSE, first event"] = samples
    return times, cpu


def screenshots(base: str, key: str, ids: dict[str, Any], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ]
    out.mkdir(parents=True, exist_ok=True)
    shots = {
        "console-inbox.png": ("/console/approvals", False),
        "console-approval.png": (f"/console/approvals/{ids['approval_id']}", True),
        "console-run.png": (f"/console/runs/{ids['run_id']}", True),
        "console-dashboard.png": ("/console/dashboard?range=30d", True),
    }
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page(viewport={"width": 1360, "height": 860})
        page.goto(f"{base}/console/login")
        page.fill("#api_key", key)
        page.click("#login-form button[type=submit]")
        page.wait_for_url("**/console/approvals")
        for name, (path, full) in shots.items():
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle") if "stream" not in path else None
            page.wait_for_timeout(400)  # charts drawn
            target = out / name
            page.screenshot(path=str(target), full_page=full)
            saved.append(target)
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("-n", type=int, default=40, help="requests per page")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument(
        "--cache-s",
        type=float,
        default=0.0,
        help="WAYPOST_API__CONSOLE_CACHE_S for the server (default 0: every page computed)",
    )
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/console.db"
        start = time.perf_counter()
        ids = seed(url, args.runs)
        console.print(
            f"seeded {ids['counts']} in {time.perf_counter() - start:.1f} s on {url.split(':')[0]}"
        )
        proc, base = start_server(url, args.cache_s)
        try:
            pages = {
                "inbox": "/console/approvals",
                "approval": f"/console/approvals/{ids['approval_id']}",
                "runs": "/console/runs",
                "runs, filtered": "/console/runs?workflow=retail_support&status=error&range=7d",
                "runs, page 20": "/console/runs?offset=1000",
                "run": f"/console/runs/{ids['run_id']}",
                "dashboard 24h": "/console/dashboard?range=24h",
                "dashboard 30d": "/console/dashboard?range=30d",
                "dashboard 30d, all tenants": "/console/dashboard?range=30d&scope=all",
            }
            times, cpu = time_pages(base, ids["key"], pages, args.n, proc.pid)
            table = Table(
                title=f"console pages, {ids['counts']['runs']} runs, n={args.n}, "
                f"cache {args.cache_s:g} s"
            )
            for column in ("page", "p50 ms", "p95 ms", "max ms", "server CPU ms"):
                table.add_column(column, justify="left" if column == "page" else "right")
            for name, samples in times.items():
                ordered = sorted(samples)
                p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]
                table.add_row(
                    name,
                    f"{statistics.median(ordered):.1f}",
                    f"{p95:.1f}",
                    f"{ordered[-1]:.1f}",
                    f"{cpu[name]:.1f}" if name in cpu else "",
                )
            console.print(table)
            if args.screenshots:
                for path in screenshots(base, ids["key"], ids, args.screenshots):
                    console.print(f"saved {path}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
