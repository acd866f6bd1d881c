"""Rate limits and quotas, on SQLite and PostgreSQL.

- Requests per minute per key: the one over the limit is a 429 with ``Retry-After`` and
  ``RateLimit-*`` headers; two server processes sharing Redis share one limit.
- A tenant's token quota stops a run at its checkpoint before the model call that would pass
  it (status ``quota_exceeded``); new runs answer 429; once the quota is raised the run resumes
  where it stopped: nothing lost, no model call or node done twice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import httpx
import pytest
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from langgraph_sdk import get_client
from sqlalchemy import text
from waypost.api.app import create_app
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphDeps, GraphRegistry, WorkflowSpec
from waypost.observability.ledger import LedgerEntry
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import LimitSettings
from waypost.server.identity import IdentityStore

from tests.api.conftest import make_settings
from tests.api.sample_graphs import make_registry
from tests.api.server import serve
from tests.fakes import ScriptedChatModel

REDIS_URL = os.environ.get("WAYPOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _key(database_url: str, role: str = "operator") -> str:
    """A key of a new tenant (Redis keeps counters across tests: names must not repeat)."""
    engine = make_engine(make_settings(database_url).database)
    migrate(engine)
    try:
        identities = IdentityStore(make_session_factory(engine), cache_s=0)
        tenant = f"t-{uuid.uuid4().hex[:12]}"
        identities.create_tenant(tenant)
        return identities.create_key(tenant, role, name=f"{role}-limits").key
    finally:
        engine.dispose()


def test_over_the_request_limit_is_a_429_with_retry_headers(database_url: str) -> None:
    key = _key(database_url)
    settings = make_settings(database_url).model_copy(
        update={"limits": LimitSettings(requests_per_minute=5)}
    )
    with serve(create_app(settings, make_registry())) as base, httpx.Client(base_url=base) as http:
        codes = [http.get("/approvals", headers={"x-api-key": key}).status_code for _ in range(5)]
        over = http.get("/approvals", headers={"x-api-key": key})
    assert codes == [200] * 5
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(over.headers["retry-after"]) <= 61
    assert over.headers["ratelimit-limit"] == "5"
    assert over.headers["ratelimit-remaining"] == "0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_server_processes_share_one_limit_through_redis(
    database_url: str, tmp_path: Path
) -> None:
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable at 127.0.0.1:6379 (CI needs it)")
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    key = _key(database_url)
    env = {
        **os.environ,
        "WAYPOST_DATABASE__URL": database_url,
        "WAYPOST_LIMITS__STORAGE": REDIS_URL,
        "WAYPOST_LIMITS__REQUESTS_PER_MINUTE": "8",
        "WAYPOST_WORKER__CONCURRENCY": "1",
    }
    waypost = str(Path(sys.executable).parent / "waypost")
    ports = [_free_port(), _free_port()]
    logs = [(tmp_path / f"serve-{port}.log").open("w") for port in ports]
    servers = [
        subprocess.Popen(
            [waypost, "serve", "--port", str(port), "--no-workers"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        for port in ports:
            _wait_ok(port, tmp_path)
        statuses = []
        for i in range(10):  # alternate between the two processes
            port = ports[i % 2]
            reply = httpx.get(
                f"http://127.0.0.1:{port}/approvals", headers={"x-api-key": key}, timeout=10
            )
            statuses.append(reply.status_code)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        for log in logs:
            log.close()
    assert statuses[:8] == [200] * 8
    assert statuses[8:] == [429, 429]  # each process alone saw only 4 or 5 requests


def _wait_ok(port: int, folder: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    logs = "".join(p.read_text()[-2000:] for p in folder.glob("serve-*.log"))
    raise AssertionError(f"waypost serve on port {port} did not start: {logs}")


# -- quotas -------------------------------------------------------------------------------


class TwoCalls(TypedDict, total=False):
    first: str
    second: str


PROMPT = "x" * 297  # 100 tokens by the guard's estimate, plus 100 of output: 201 reserved


def _two_calls(model: ScriptedChatModel) -> WorkflowSpec:
    def build(deps: GraphDeps) -> Any:
        bound = model.bind(max_tokens=100)

        def first(state: TwoCalls) -> dict[str, Any]:
            return {"first": bound.invoke(PROMPT).content}

        def second(state: TwoCalls) -> dict[str, Any]:
            return {"second": bound.invoke(PROMPT).content}

        g = StateGraph(TwoCalls)
        g.add_node("first", first)
        g.add_node("second", second)
        g.add_edge(START, "first")
        g.add_edge("first", "second")
        g.add_edge("second", END)
        return g.compile(checkpointer=deps.checkpointer)

    return WorkflowSpec("two_calls", "Two model calls in a row.", build)


def _answer(text: str) -> AIMessage:
    return AIMessage(
        text, usage_metadata={"input_tokens": 100, "output_tokens": 50, "total_tokens": 150}
    )


@pytest.fixture
def quota_server(database_url: str) -> Iterator[tuple[str, str, IdentityStore, Any]]:
    engine = make_engine(make_settings(database_url).database)
    migrate(engine)
    factory = make_session_factory(engine)
    identities = IdentityStore(factory, cache_s=0)
    identities.create_tenant("thrifty")
    key = identities.create_key("thrifty", "operator", name="t-op").key
    identities.set_limits("thrifty", tokens_per_day=300)
    model = ScriptedChatModel(responses=[_answer("one"), _answer("two")])
    registry = GraphRegistry()
    registry.register(_two_calls(model))
    app = create_app(make_settings(database_url), registry)
    with serve(app) as base:
        yield base, key, identities, factory, app
    engine.dispose()


async def test_a_quota_stops_a_run_at_its_checkpoint_and_it_resumes_once_raised(
    quota_server: Any,
) -> None:
    base, key, identities, factory, app = quota_server

    def set_tokens(limit: int) -> None:  # as `waypost tenants set-quota` does, seen at once
        identities.set_limits("thrifty", tokens_per_day=limit)
        app.state.services.quotas.forget("thrifty")

    client = get_client(url=base, api_key=key)
    try:
        thread = await client.threads.create()
        tid = thread["thread_id"]
        stopped = await client.runs.wait(tid, "two_calls", input={}, raise_error=False)
        assert stopped["__error__"]["error"] == "QuotaExceeded"
        assert stopped["__error__"]["quota"] == "tokens_per_day"
        runs = await client.runs.list(tid)
        assert runs[0]["status"] == "quota_exceeded"
        async with httpx.AsyncClient(base_url=base, headers={"x-api-key": key}) as http:
            summary = (await http.get(f"/runs/{runs[0]['run_id']}")).json()
            assert summary["quota"]["tokens_per_day"] == {"used": 150, "limit": 300}
            state = (await http.get(f"/threads/{tid}/state")).json()
            assert state["values"] == {"first": "one"} and state["next"] == ["second"]
            # at the quota exactly: nothing new starts
            set_tokens(150)
            refused = await http.post(
                f"/threads/{tid}/runs", json={"assistant_id": "two_calls", "input": {}}
            )
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "quota_exceeded"
            metrics = (await http.get("/metrics")).status_code
            assert metrics == 403  # an operator does not read /metrics
        set_tokens(1000)
        resumed = await client.runs.wait(tid, "two_calls", input=None)
        assert resumed == {"first": "one", "second": "two"}
    finally:
        await client.http.client.aclose()
    with factory() as session:
        calls = session.query(LedgerEntry).filter(LedgerEntry.kind == "llm").count()
        reserved = session.execute(text("SELECT COUNT(*) FROM quota_reservations")).scalar()
    assert calls == 2  # the first call was not made again
    assert reserved == 0  # every hold was released
