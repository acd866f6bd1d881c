"""Keys, roles and custom auth through the official SDK, as users and as an attacker would try.

On SQLite and PostgreSQL: an operator drives a run to its approval, a reviewer decides it, and
another tenant's key sees none of it. A ``langgraph.json`` custom ``langgraph_sdk.Auth`` object
stamps and filters an ``owner``: two users of one tenant see only their own threads.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from waypost.api.app import create_app
from waypost.api.custom_auth import load_auth
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine, make_session_factory
from waypost.server.identity import IdentityStore

from tests.api.conftest import make_settings
from tests.api.sample_graphs import make_registry
from tests.api.server import serve


async def status(call: Any) -> int:
    """The HTTP status an SDK call ends with (the SDK raises on 4xx)."""
    try:
        await call
    except httpx.HTTPStatusError as exc:
        return exc.response.status_code
    except Exception as exc:  # newer SDKs raise typed errors carrying the response
        response = getattr(exc, "response", None)
        return int(getattr(response, "status_code", 0))
    return 200


@pytest.fixture
def keyed(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    engine = make_engine(make_settings(database_url).database)
    migrate(engine)
    identities = IdentityStore(make_session_factory(engine), cache_s=0)
    identities.create_tenant("acme")
    identities.create_tenant("globex")
    keys = {
        "operator": identities.create_key("acme", "operator", name="ops").key,
        "reviewer": identities.create_key("acme", "reviewer", name="rita").key,
        "viewer": identities.create_key("acme", "viewer", name="vic").key,
        "globex": identities.create_key("globex", "admin", name="g").key,
    }
    with serve(create_app(make_settings(database_url), make_registry())) as base:
        yield base, keys
    engine.dispose()


async def test_an_operator_runs_a_reviewer_decides_another_tenant_sees_nothing(keyed) -> None:
    base, keys = keyed
    operator = get_client(url=base, api_key=keys["operator"])
    reviewer = get_client(url=base, api_key=keys["reviewer"])
    outsider = get_client(url=base, api_key=keys["globex"])
    anonymous = get_client(url=base, api_key=None)
    try:
        thread = await operator.threads.create(metadata={"case": "refund"})
        paused = await operator.runs.wait(
            thread["thread_id"], "approval", input={"order_id": "A-1"}
        )
        assert paused["__interrupt__"]
        assert (
            await status(
                operator.runs.wait(
                    thread["thread_id"], "approval", command={"resume": {"decision": "approve"}}
                )
            )
            == 403
        )  # an operator does not answer approvals
        done = await reviewer.runs.wait(
            thread["thread_id"], "approval", command={"resume": {"decision": "approve"}}
        )
        assert done["outcome"] == "cancelled A-1"
        assert (
            await status(
                reviewer.runs.wait(thread["thread_id"], "three_step", input={"topic": "x"})
            )
            == 403
        )  # a reviewer does not start work
        # another tenant: the thread, its runs and state do not exist; listings are empty
        assert await status(outsider.threads.get(thread["thread_id"])) == 404
        assert await status(outsider.threads.get_state(thread["thread_id"])) == 404
        assert await status(outsider.runs.list(thread["thread_id"])) == 404
        assert await outsider.threads.search() == []
        assert (
            await status(
                outsider.runs.wait(thread["thread_id"], "three_step", input={"topic": "x"})
            )
            == 404
        )  # and it cannot run on it either
        async with httpx.AsyncClient(base_url=base) as http:
            approvals = await http.get("/approvals", headers={"x-api-key": keys["globex"]})
            assert approvals.json() == []
            nothing = await http.get("/threads/search")
            assert nothing.status_code in (401, 405)
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await anonymous.threads.search()
        assert refused.value.response.status_code == 401
        assert [t["thread_id"] for t in await reviewer.threads.search()] == [thread["thread_id"]]
    finally:
        for client in (operator, reviewer, outsider, anonymous):
            await client.http.client.aclose()


AUTH_PY = textwrap.dedent(
    """
    from langgraph_sdk import Auth

    auth = Auth()
    USERS = {"token-alice": "alice", "token-bob": "bob", "token-eve": "eve"}


    @auth.authenticate
    async def authenticate(authorization: str | None) -> dict:
        token = (authorization or "").removeprefix("Bearer ").strip()
        if token not in USERS:
            raise Auth.exceptions.HTTPException(status_code=401, detail="unknown token")
        return {"identity": USERS[token], "tenant": "default"}


    @auth.on.threads.create
    async def stamp_owner(ctx: Auth.types.AuthContext, value: dict) -> None:
        value["metadata"]["owner"] = ctx.user.identity


    @auth.on.threads
    async def only_own(ctx: Auth.types.AuthContext, value: dict) -> dict:
        if ctx.user.identity == "eve":
            return False
        return {"owner": ctx.user.identity}
    """
)


@pytest.fixture
def custom(tmp_path: Path, database_url: str) -> Iterator[str]:
    (tmp_path / "auth.py").write_text(AUTH_PY)
    auth = load_auth("./auth.py:auth", tmp_path)
    with serve(create_app(make_settings(database_url), make_registry(), auth=auth)) as base:
        yield base


def _as(base: str, token: str) -> Any:
    return get_client(url=base, headers={"Authorization": f"Bearer {token}"})


async def test_custom_auth_stamps_and_filters_owners(custom: str) -> None:
    alice, bob, eve = (_as(custom, f"token-{n}") for n in ("alice", "bob", "eve"))
    try:
        mine = await alice.threads.create(metadata={"topic": "a"})
        assert mine["metadata"]["owner"] == "alice"  # stamped by the handler
        theirs = await bob.threads.create()
        await alice.runs.wait(mine["thread_id"], "three_step", input={"topic": "x"})

        assert [t["thread_id"] for t in await alice.threads.search()] == [mine["thread_id"]]
        assert [t["thread_id"] for t in await bob.threads.search()] == [theirs["thread_id"]]
        assert await status(bob.threads.get(mine["thread_id"])) == 404
        assert (
            await status(bob.runs.wait(mine["thread_id"], "three_step", input={"topic": "x"}))
            == 404
        )
        assert await status(eve.threads.search()) == 403  # the handler returns False for eve
        unknown = _as(custom, "token-mallory")
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await unknown.threads.search()
        assert refused.value.response.status_code == 401
        await unknown.http.client.aclose()

        state = await alice.threads.get_state(mine["thread_id"])
        assert state["values"]["steps"] == ["first", "second", "third"]
    finally:
        for client in (alice, bob, eve):
            await client.http.client.aclose()


def test_the_user_reaches_the_run_config(custom: str, database_url: str) -> None:
    """As on the LangGraph server: ``configurable.langgraph_auth_user`` (a body cannot claim
    another identity)."""
    from waypost.server.models import Run

    async def go() -> str:
        alice = _as(custom, "token-alice")
        try:
            thread = await alice.threads.create()
            run = await alice.runs.create(
                thread["thread_id"],
                "three_step",
                input={"topic": "x"},
                config={"configurable": {"langgraph_auth_user_id": "bob"}},
            )
            await alice.runs.join(thread["thread_id"], run["run_id"])
            return str(run["run_id"])
        finally:
            await alice.http.client.aclose()

    run_id = asyncio.run(go())
    engine = make_engine(make_settings(database_url).database)
    try:
        with make_session_factory(engine)() as session:
            row = session.get(Run, run_id)
            assert row is not None
            configurable = row.config["configurable"]
    finally:
        engine.dispose()
    assert configurable["langgraph_auth_user_id"] == "alice"
    assert configurable["langgraph_auth_user"]["identity"] == "alice"
