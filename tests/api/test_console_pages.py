"""Console decisions and pages over HTTP on a real server: reject with a comment, edits checked
against the tool's schema (then shown as a diff), a lost race, the run page and the filters."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from waypost.api.app import create_app
from waypost.runtime.settings import LangfuseSettings

from tests.api.conftest import make_settings
from tests.api.console_support import create_keys, csrf_of, login, refund_registry, start_refund
from tests.api.server import serve


@pytest.fixture
def site(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    keys = create_keys(database_url, {"rita": ("acme", "reviewer"), "ann": ("acme", "admin")})
    app = create_app(make_settings(database_url), refund_registry())
    with serve(app) as base:
        yield base, keys


@contextmanager
def _reviewer(base: str, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
        login(client, key)
        yield client


def _decide(client: httpx.Client, approval_id: str, **form: str) -> httpx.Response:
    page = client.get(f"/console/approvals/{approval_id}")
    return client.post(
        f"/console/approvals/{approval_id}", data={"csrf_token": csrf_of(page.text), **form}
    )


def _final_outcome(base: str, key: str, thread_id: str) -> str:
    with httpx.Client(base_url=base, timeout=30, headers={"x-api-key": key}) as api:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state = api.get(f"/threads/{thread_id}").json()
            if state["status"] == "idle" and (state["values"] or {}).get("outcome"):
                return str(state["values"]["outcome"])
            time.sleep(0.1)
    raise AssertionError("the run did not finish")


def test_the_approval_page_shows_what_is_decided(site: Any) -> None:
    base, keys = site
    paused = start_refund(base, keys["ann"], customer="ada_byron", amount=42.0)
    with _reviewer(base, keys["rita"]) as browser:
        inbox = browser.get("/console/approvals").text
        assert paused["approval"]["id"] in inbox and "ada_byron" in inbox
        assert "refund_payment" in inbox and "Refund 42.00 USD" in inbox
        page = browser.get(f"/console/approvals/{paused['approval']['id']}").text
    assert "My lamp arrived broken" in page  # the customer's message
    assert "§4 Refunds above 20 USD" in page  # the policy section
    assert re.search(r'id="price-difference">\s*-42.00 USD', page)
    assert "&#34;amount&#34;: 42.0" in page  # the exact call, escaped
    assert 'name="arg.amount" value="42.0"' in page  # the edit form from args_schema
    assert '<option value="late"' in page
    assert "gpt-4o-mini" in page  # the draft step so far


def test_reject_needs_a_comment_and_resumes_the_run(site: Any) -> None:
    base, keys = site
    paused = start_refund(base, keys["ann"])
    approval_id = paused["approval"]["id"]
    with _reviewer(base, keys["rita"]) as browser:
        bare = _decide(browser, approval_id, action="reject")
        assert bare.status_code == 422 and "add a comment" in bare.text
        done = _decide(browser, approval_id, action="reject", comment="Photo shows no damage")
        assert done.status_code == 303
        page = browser.get(done.headers["location"]).text
    assert "Decision recorded: rejected" in page
    assert "rejected</strong> by key:rita" in page and "Photo shows no damage" in page
    assert _final_outcome(base, keys["ann"], paused["thread_id"]) == (
        "rejected: Photo shows no damage"
    )


def test_edits_are_checked_then_applied_and_shown_as_a_diff(site: Any) -> None:
    base, keys = site
    paused = start_refund(base, keys["ann"], amount=42.0)
    approval_id = paused["approval"]["id"]
    base_form = {
        "action": "edit",
        "arg.order_id": "#W42",
        "arg.reason": "damaged",
        "arg.notify": "on",  # the schema's default: not a change
    }
    with _reviewer(base, keys["rita"]) as browser:
        too_much = _decide(browser, approval_id, **base_form, **{"arg.amount": "900"})
        assert too_much.status_code == 422
        assert "Must be at most 500." in too_much.text
        assert 'value="900"' in too_much.text  # what was typed stays in the form
        assert "nothing was decided" in too_much.text
        words = _decide(browser, approval_id, **base_form, **{"arg.amount": "lots"})
        assert words.status_code == 422 and "Enter a number." in words.text
        same = _decide(browser, approval_id, **base_form, **{"arg.amount": "42.0"})
        assert same.status_code == 422 and "Nothing was changed" in same.text
        with httpx.Client(base_url=base, headers={"x-api-key": keys["ann"]}) as api:
            assert api.get(f"/approvals/{approval_id}").json()["status"] == "pending"
        edited = _decide(
            browser, approval_id, **base_form, **{"arg.amount": "30", "comment": "partial"}
        )
        assert edited.status_code == 303
        page = browser.get(f"/console/approvals/{approval_id}").text
    assert 'id="approval-status">edited<' in page
    diff = page[page.index('class="diff"') :]
    assert re.search(r'<tr class="changed"><td>amount</td><td><del>42.0</del></td>', diff)
    assert "<ins>30</ins>" in diff
    assert _final_outcome(base, keys["ann"], paused["thread_id"]) == "refunded 30 on #W42"


def test_a_decision_that_lost_the_race_says_so(site: Any) -> None:
    base, keys = site
    paused = start_refund(base, keys["ann"])
    approval_id = paused["approval"]["id"]
    with _reviewer(base, keys["rita"]) as browser:
        page = browser.get(f"/console/approvals/{approval_id}")  # the reviewer reads...
        with httpx.Client(base_url=base, headers={"x-api-key": keys["ann"]}) as api:
            first = api.post(f"/approvals/{approval_id}/decision", json={"decision": "approve"})
            assert first.status_code == 200  # ...while an admin decides over the API
        late = browser.post(
            f"/console/approvals/{approval_id}",
            data={"csrf_token": csrf_of(page.text), "action": "reject", "comment": "no"},
        )
    assert late.status_code == 409
    assert "Your decision was not applied" in late.text
    assert "already approved by key:ann" in late.text
    assert 'id="approve"' not in late.text  # nothing left to decide
    with httpx.Client(base_url=base, headers={"x-api-key": keys["ann"]}) as api:
        assert api.get(f"/approvals/{approval_id}").json()["status"] == "approved"


def test_run_pages_and_filters(site: Any, database_url: str) -> None:
    base, keys = site
    paused = start_refund(base, keys["ann"])
    with _reviewer(base, keys["rita"]) as browser:
        _decide(browser, paused["approval"]["id"], action="approve")
        _final_outcome(base, keys["ann"], paused["thread_id"])
        listing = browser.get("/console/runs").text
        assert listing.count("data-run=") == 2  # the paused run and its resume
        only_ok = browser.get("/console/runs?status=success&workflow=refund&range=1h").text
        assert only_ok.count('data-status="success"') == 2
        assert browser.get("/console/runs?status=error").text.count("data-run=") == 0
        assert browser.get("/console/runs?workflow=other").text.count("data-run=") == 0
        assert browser.get("/console/runs?status=bogus").status_code == 422
        assert browser.get("/console/runs?offset=-1").status_code == 422
        run = browser.get(f"/console/runs/{paused['run_id']}").text
    assert 'id="run-status">success<' in run
    assert "gpt-4o-mini" in run and "1000 / 500" in run  # model and tokens of the draft call
    assert 'data-chart="timeline"' in run
    assert "requested</strong> by workflow:refund" in run  # the approval's audit events
    assert "approved</strong> by key:rita" in run
    assert "Langfuse trace" not in run  # tracing is off
    traced = make_settings(database_url).model_copy(
        update={
            "langfuse": LangfuseSettings(
                public_key="pk-lf-test", secret_key="sk-lf-test", base_url="http://127.0.0.1:9"
            )
        }
    )
    app = create_app(traced, refund_registry(), workers=False)
    with serve(app) as other, _reviewer(other, keys["rita"]) as browser:
        run = browser.get(f"/console/runs/{paused['run_id']}").text
    link = re.search(r'href="(http://127.0.0.1:9/trace/[0-9a-f]{32})"', run)
    assert link, "the run page links its Langfuse trace"
