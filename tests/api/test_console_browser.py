"""The console in a real browser: headless Chromium from the system packages, driven by
Playwright (never a downloaded browser), against a real server running the retail workflow on
the scripted model.

A reviewer logs in, watches a pending approval appear in the inbox without reloading, submits
an invalid edit and sees the error, approves, sees the run complete and the dashboard figures
move; a viewer is not offered the buttons.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from waypost.api.app import create_app
from waypost.domains.retail.tools import load_tau2_db
from waypost.domains.retail.workflow import build as build_retail
from waypost.domains.retail.workflow import retail_support_spec
from waypost.graphs.registry import GraphDeps, GraphRegistry
from waypost.runtime.db import make_engine, make_session_factory

from tests.api.conftest import make_settings
from tests.api.console_support import create_keys
from tests.api.server import serve
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_MESSAGE, CANCEL_PLAN, TINY_DB

EXCHANGE_MESSAGE = (
    "I'm Ada Byron, zip 62701. Please exchange the white desk lamp in order #W0000002 for the"
    " black one, paid with my credit card."
)
EXCHANGE_INTAKE = {
    "identity": {"first_name": "Ada", "last_name": "Byron", "zip": "62701"},
    "requests": [{"kind": "exchange_items", "order_id": "#W0000002", "items": ["desk lamp"]}],
}
EXCHANGE_PLAN = {
    "actions": [
        {
            "kind": "exchange_items",
            "order_id": "#W0000002",
            "item_ids": ["111"],
            "new_item_ids": ["112"],
            "payment_method_id": "credit_card_1",
        }
    ]
}
CHROMIUM = "/usr/bin/chromium"
# Offline and quiet: no component updates, no sync, and no DNS for anything but loopback.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM) or shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def retail(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    keys = create_keys(
        url,
        {
            "rita": ("default", "reviewer"),
            "vic": ("default", "viewer"),
            "otto": ("default", "operator"),
        },
    )
    engine = make_engine(make_settings(url).database)
    load_tau2_db(make_session_factory(engine), copy.deepcopy(TINY_DB))
    model = ScriptedChatModel(
        responses=[CANCEL_INTAKE, CANCEL_PLAN, EXCHANGE_INTAKE, EXCHANGE_PLAN]
    )
    spec = retail_support_spec()

    def build(deps: GraphDeps) -> Any:
        return build_retail(replace(deps, model_factory=lambda _name: model))

    registry = GraphRegistry()
    registry.register(replace(spec, build=build))
    with serve(create_app(make_settings(url), registry)) as base:
        yield base, keys
    engine.dispose()


def _start_case(base: str, key: str, message: str = CANCEL_MESSAGE) -> threading.Thread:
    """Send a customer message over the API in the background (it returns once paused)."""
    failures: list[str] = []

    def post() -> None:
        with httpx.Client(base_url=base, timeout=60, headers={"x-api-key": key}) as api:
            answer = api.post("/workflows/retail_support/runs", json={"message": message})
            if answer.status_code != 200 or answer.json()["status"] != "interrupted":
                failures.append(answer.text)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    thread.failures = failures  # type: ignore[attr-defined]
    return thread


def _login(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#api_key", key)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/console/approvals")


def _tile(page: Any, name: str) -> int:
    return int(page.inner_text(f"#tile-{name}").strip())


def test_review_a_case_in_the_browser(chromium: Any, retail: tuple[str, dict[str, str]]) -> None:
    base, keys = retail
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, base, keys["rita"])
    assert page.inner_text("#role") == "reviewer"

    page.goto(f"{base}/console/dashboard?range=24h")
    runs_before, success_before = _tile(page, "runs"), _tile(page, "success")
    assert page.locator("canvas").count() == 0  # no data yet: no charts

    # the inbox is open and empty; a customer writes in; the approval shows up by itself
    page.goto(f"{base}/console/approvals")
    page.wait_for_selector("#live[data-state=open]")
    assert page.locator("tr[data-approval]").count() == 0
    page.evaluate("window.__stayed = true")
    case = _start_case(base, keys["otto"])
    row = page.wait_for_selector("tr[data-approval]", timeout=20_000)
    assert page.evaluate("window.__stayed") is True  # no reload happened
    assert "cancel_pending_order" in row.inner_text()
    assert "ada_byron_1815" in row.inner_text()  # the customer
    assert page.inner_text("#inbox-count") == "1"
    case.join(30)
    assert not case.failures  # type: ignore[attr-defined]

    # the approval in context
    page.click("tr[data-approval] a")
    page.wait_for_selector("#tool-call")
    assert "Please cancel order #W0000001" in page.inner_text("#customer-message")
    call = page.inner_text("#tool-call")
    assert '"tool": "cancel_pending_order"' in call and "#W0000001" in call
    assert page.inner_text("#policy").startswith("§5")
    assert page.inner_text("#price-difference") == "none"  # a cancellation moves no money
    assert page.locator("#steps tr").count() >= 3  # intake and plan calls so far, plus the header
    approval_url = page.url

    # an invalid edit is refused on the server, with the field named
    page.click("#edit-panel summary")
    page.fill("[name='arg.reason']", "")
    page.click("#submit-edit")
    page.wait_for_selector(".field-error")
    assert "required" in page.inner_text("[data-field=reason] .field-error")
    assert "nothing was decided" in page.inner_text("#problem")
    assert page.inner_text("#approval-status") == "pending"

    # approve; the resumed run completes
    page.click("#approve")
    page.wait_for_selector("#notice")
    assert "approved" in page.inner_text("#notice")
    assert page.inner_text("#approval-status") == "approved"
    trail = page.inner_text("#audit-trail")
    assert "requested" in trail and "approved by key:rita" in trail
    page.click("#resume-run")
    for _ in range(50):
        if page.inner_text("#run-status") == "success":
            break
        page.wait_for_timeout(200)
        page.reload()
    assert page.inner_text("#run-status") == "success"
    assert "cancel_pending_order" in page.inner_text("#timeline")  # the tool call, timed
    assert page.locator("canvas[data-chart=timeline]").count() == 1

    # the dashboard moved
    page.goto(f"{base}/console/dashboard?range=24h")
    assert _tile(page, "runs") >= runs_before + 2  # the paused run and its resume
    assert _tile(page, "success") >= success_before + 2
    assert _tile(page, "tokens") > 0
    page.wait_for_function("document.querySelectorAll('canvas[data-chart]').length >= 5")
    tokens = _tile(page, "tokens")
    # the month view reads the daily roll-up the server's ledger writer kept: the same tokens
    page.goto(f"{base}/console/dashboard?range=30d")
    assert _tile(page, "tokens") == tokens
    assert errors == []
    context.close()

    # a viewer sees the decided approval and a new pending one, with no buttons
    viewer = chromium.new_context()
    vpage = viewer.new_page()
    _login(vpage, base, keys["vic"])
    vpage.wait_for_selector("#live[data-state=open]")
    second = _start_case(base, keys["otto"], EXCHANGE_MESSAGE)
    vpage.wait_for_selector("tr[data-approval]", timeout=20_000)
    second.join(30)
    assert not second.failures  # type: ignore[attr-defined]
    vpage.click("tr[data-approval] a")
    vpage.wait_for_selector("#decide")
    assert "exchange_delivered_order_items" in vpage.inner_text("#tool-call")
    assert vpage.inner_text("#price-difference") == "-10.00 USD"
    assert vpage.locator("#approve, #reject, #edit-form").count() == 0
    assert "may not decide" in vpage.inner_text("#no-decide")
    vpage.goto(approval_url)
    assert vpage.locator("#approve").count() == 0
    viewer.close()
