"""Console access: sessions, roles, CSRF and tenants, over a real server with real keys.

Another tenant's approval or run answers 404 on every console page that names it; a viewer is
not offered decisions and the server refuses one anyway; no session means the login page; the
console cookie never authenticates the API, nor an API key the console.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from waypost.api.access import access_for
from waypost.api.app import create_app

from tests.api.conftest import make_settings
from tests.api.console_support import (
    create_keys,
    csrf_of,
    login,
    refund_registry,
    start_refund,
)
from tests.api.server import serve

KEYS = {
    "ann": ("acme", "admin"),
    "rita": ("acme", "reviewer"),
    "vic": ("acme", "viewer"),
    "otto": ("acme", "operator"),
    "gil": ("globex", "admin"),
}


@pytest.fixture
def console(database_url: str) -> Iterator[tuple[str, dict[str, str], dict[str, Any]]]:
    keys = create_keys(database_url, KEYS)
    app = create_app(make_settings(database_url), refund_registry())
    with serve(app) as base:
        paused = start_refund(base, keys["ann"])
        yield base, keys, paused


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, follow_redirects=False)


def test_every_console_route_has_an_access_rule() -> None:
    app = create_app(make_settings("sqlite:///:memory:"), refund_registry())
    routes = []
    for route in app.router.routes:  # included routers keep their routes on the original
        routes += getattr(getattr(route, "original_router", None), "routes", [route])
    console = [
        (method, route.path)
        for route in routes
        if getattr(route, "path", "").startswith("/console")
        for method in getattr(route, "methods", ()) or ()
        if method != "HEAD"
    ]
    assert len(console) >= 12
    missing = [(m, p) for m, p in console if access_for(m, p) is None]
    assert missing == []
    assert access_for("GET", "/console/unknown") is None  # fails closed
    assert access_for("POST", "/console/approvals/{approval_id}").scope == "decide"  # type: ignore[union-attr]


def test_no_session_sends_every_page_to_the_login(console: Any) -> None:
    base, _keys, paused = console
    with _client(base) as browser:
        for path in (
            "/console",
            "/console/approvals",
            f"/console/approvals/{paused['approval']['id']}",
            f"/console/runs/{paused['run_id']}",
            "/console/runs?status=success",
            "/console/dashboard",
        ):
            answer = browser.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/console/login?next=/console"), path
        assert browser.get("/console/login").status_code == 200
        posted = browser.post(
            f"/console/approvals/{paused['approval']['id']}", data={"action": "approve"}
        )
        assert posted.status_code == 303 and posted.headers["location"].startswith("/console/login")
    with httpx.Client(base_url=base, timeout=30, headers={"x-api-key": _keys["ann"]}) as api:
        assert api.get(f"/approvals/{paused['approval']['id']}").json()["status"] == "pending"


def test_other_tenants_approvals_and_runs_answer_404(console: Any) -> None:
    base, keys, paused = console
    approval_id, run_id = paused["approval"]["id"], paused["run_id"]
    with _client(base) as browser:
        login(browser, keys["gil"])  # an admin, but of globex
        assert approval_id not in browser.get("/console/approvals").text
        assert browser.get(f"/console/approvals/{approval_id}").status_code == 404
        assert browser.get(f"/console/runs/{run_id}").status_code == 404
        assert run_id not in browser.get("/console/runs").text
        token = csrf_of(browser.get("/console/approvals").text)
        decided = browser.post(
            f"/console/approvals/{approval_id}", data={"action": "approve", "csrf_token": token}
        )
        assert decided.status_code == 404
        board = browser.get("/console/dashboard?range=24h").text
        assert 'id="tile-runs">0<' in board  # globex has run nothing
        everything = browser.get("/console/dashboard?range=24h&scope=all").text
        # only the default tenant's admins (the deployment's operators) see every tenant
        assert 'id="tile-runs">0<' in everything
    with _client(base) as browser:
        login(browser, keys["ann"])
        assert browser.get(f"/console/approvals/{approval_id}").status_code == 200
        assert browser.get(f"/console/runs/{run_id}").status_code == 200
    with httpx.Client(base_url=base, timeout=30, headers={"x-api-key": keys["ann"]}) as api:
        assert api.get(f"/approvals/{approval_id}").json()["status"] == "pending"


@pytest.mark.parametrize("who", ["vic", "otto"])
def test_a_role_without_decide_sees_no_buttons_and_is_refused(console: Any, who: str) -> None:
    base, keys, paused = console
    approval_id = paused["approval"]["id"]
    with _client(base) as browser:
        login(browser, keys[who])
        page = browser.get(f"/console/approvals/{approval_id}")
        assert page.status_code == 200
        assert 'id="approve"' not in page.text and 'id="reject"' not in page.text
        assert 'id="edit-form"' not in page.text
        assert "may not decide approvals" in page.text
        token = csrf_of(page.text)  # the logout form's
        refused = browser.post(
            f"/console/approvals/{approval_id}", data={"action": "approve", "csrf_token": token}
        )
        assert refused.status_code == 403
        assert "may not decide" in refused.text
        assert "<html" in refused.text  # a page, not JSON
    with httpx.Client(base_url=base, timeout=30, headers={"x-api-key": keys["ann"]}) as api:
        assert api.get(f"/approvals/{approval_id}").json()["status"] == "pending"


def test_a_decision_needs_the_sessions_csrf_token(console: Any) -> None:
    base, keys, paused = console
    approval_id = paused["approval"]["id"]
    with _client(base) as browser:
        login(browser, keys["rita"])
        page = browser.get(f"/console/approvals/{approval_id}")
        assert 'id="approve"' in page.text
        for token in (None, "forged", csrf_of(page.text)[:-2] + "xx"):
            data = {"action": "approve"} | ({"csrf_token": token} if token else {})
            refused = browser.post(f"/console/approvals/{approval_id}", data=data)
            assert refused.status_code == 403, token
            assert "security token" in refused.text
    with _client(base) as other:  # another session's token does not fit this one
        login(other, keys["rita"])
        stolen = csrf_of(other.get(f"/console/approvals/{approval_id}").text)
    with _client(base) as browser:
        login(browser, keys["rita"])
        refused = browser.post(
            f"/console/approvals/{approval_id}", data={"action": "approve", "csrf_token": stolen}
        )
        assert refused.status_code == 403
    with httpx.Client(base_url=base, timeout=30, headers={"x-api-key": keys["ann"]}) as api:
        assert api.get(f"/approvals/{approval_id}").json()["status"] == "pending"


def test_cookie_and_keys_stay_in_their_lanes(console: Any) -> None:
    base, keys, paused = console
    with _client(base) as browser:
        landed = login(browser, keys["rita"])
        assert landed.status_code == 200 and "Approvals waiting" in landed.text
        # the console cookie is no API credential
        assert browser.get("/approvals").status_code == 401
        assert browser.get(f"/runs/{paused['run_id']}").status_code == 401
    with _client(base) as keyed:  # nor is an API key a console session
        keyed.headers["x-api-key"] = keys["ann"]
        assert keyed.get("/console/approvals").status_code == 303


def test_login_cookie_flags_logout_and_bad_keys(console: Any) -> None:
    base, keys, _paused = console
    with _client(base) as browser:
        page = browser.get("/console/login")
        token = csrf_of(page.text)
        bad = browser.post("/console/login", data={"api_key": "wp_nonsense_x", "csrf_token": token})
        assert bad.status_code == 401 and "not valid" in bad.text
        without_token = browser.post("/console/login", data={"api_key": keys["rita"]})
        assert without_token.status_code == 403
        good = browser.post(
            "/console/login",
            data={"api_key": keys["rita"], "csrf_token": token, "next": "https://evil.example/"},
        )
        assert good.status_code == 303 and good.headers["location"] == "/console/approvals"
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        inbox = browser.get("/console/approvals")
        assert inbox.status_code == 200
        out = browser.post("/console/logout", data={"csrf_token": csrf_of(inbox.text)})
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
        assert browser.get("/console/approvals").status_code == 303
    with _client(base) as proxied:  # behind a TLS-terminating proxy the cookie is Secure
        proxied.headers["x-forwarded-proto"] = "https"
        page = proxied.get("/console/login")
        assert "Secure" in page.headers["set-cookie"]  # even the pre-login one
        # httpx (like a browser) keeps Secure cookies off plain http: hand it over
        pre = page.headers["set-cookie"].split(";")[0]
        good = proxied.post(
            "/console/login",
            data={"api_key": keys["rita"], "csrf_token": csrf_of(page.text)},
            headers={"cookie": pre},
        )
        assert good.status_code == 303
        assert re.search(r"waypost_console=[^;]+;.*Secure", good.headers["set-cookie"])


def test_a_revoked_key_ends_its_console_sessions(console: Any, database_url: str) -> None:
    from waypost.runtime.db import make_engine, make_session_factory
    from waypost.server.identity import IdentityStore

    base, keys, _paused = console
    with _client(base) as browser:
        login(browser, keys["rita"])
        assert browser.get("/console/approvals").status_code == 200
        engine = make_engine(make_settings(database_url).database)
        IdentityStore(make_session_factory(engine)).revoke(keys["rita"].split("_")[1])
        engine.dispose()
        import time

        deadline = time.monotonic() + 10
        while browser.get("/console/approvals").status_code == 200:
            assert time.monotonic() < deadline, "the session outlived its key"
            time.sleep(0.2)
        assert browser.get("/console/approvals").headers["location"].startswith("/console/login")


def test_without_keys_the_console_is_the_anonymous_admin(sqlite_url: str) -> None:
    app = create_app(make_settings(sqlite_url), refund_registry())
    with serve(app) as base:
        paused = start_refund(base, None)
        with _client(base) as browser:
            assert browser.get("/console/login").status_code == 303
            page = browser.get(f"/console/approvals/{paused['approval']['id']}")
            assert page.status_code == 200 and 'id="approve"' in page.text
            assert "auth off" in page.text
            decided = browser.post(
                f"/console/approvals/{paused['approval']['id']}",
                data={"action": "approve", "csrf_token": csrf_of(page.text)},
            )
            assert decided.status_code == 303
        with httpx.Client(base_url=base, timeout=30) as api:
            found = api.get(f"/approvals/{paused['approval']['id']}").json()
        assert found["status"] == "approved" and found["decided_by"] == "anonymous"
