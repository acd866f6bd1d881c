"""The OpenAPI document is true: Schemathesis finds no 5xx and no undocumented status or body.

Schemathesis (pinned in the dev dependencies) runs against a real server with a fixed seed and a
bounded number of examples per operation, so the run is reproducible and takes well under a
minute. The route-table test below checks the document itself: every route documents the error
statuses its kind can answer, with the shared error body.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from waypost.api.app import create_app
from waypost.api.openapi import api_routes, route_error_statuses
from waypost.graphs.registry import GraphRegistry

from tests.api.conftest import make_settings
from tests.api.sample_graphs import make_registry
from tests.api.server import serve

SEED = 15
MAX_EXAMPLES = 20
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
CONFIG = Path(__file__).parent / "schemathesis.toml"
CLI = Path(__file__).parent / "schemathesis_cli.py"  # the CLI with a CPython 3.11 race fenced off


def _fuzzable_registry() -> GraphRegistry:
    """The sample workflows minus ``slow``, whose input is how long to sleep."""
    registry = GraphRegistry()
    for spec in make_registry().specs():
        if spec.name != "slow":
            registry.register(spec)
    return registry


@pytest.fixture
def app(sqlite_url: str) -> FastAPI:
    return create_app(make_settings(sqlite_url, max_body_bytes=64_000), _fuzzable_registry())


@pytest.fixture
def url(app: FastAPI) -> Iterator[str]:
    with serve(app) as served:
        yield served


@pytest.mark.timeout(240)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    url: str, tmp_path: Path
) -> None:
    command = [
        sys.executable,
        str(CLI),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--checks",
        CHECKS,
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--no-shrink",
        "--no-color",
    ]
    done = subprocess.run(  # in tmp_path: its caches and reports stay out of the repository
        command, capture_output=True, text=True, timeout=220, check=False, cwd=tmp_path
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    tested = re.search(r"Tested: (\d+)", output)
    assert tested and int(tested.group(1)) >= 35, output[-2000:]  # every operation was exercised


def test_every_route_documents_its_error_statuses(app: FastAPI) -> None:
    document = app.openapi()
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    checked = 0
    for route in api_routes(app.routes):
        for method in route.methods:
            responses = document["paths"][route.path_format][method.lower()]["responses"]
            expected = route_error_statuses(route, method)
            assert {422, 500} <= set(expected)
            for status in expected:
                schema = responses[str(status)]["content"]["application/json"]["schema"]
                assert schema == error_ref, (method, route.path_format, status)
            checked += 1
    assert checked >= 35
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error = document["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    paths = document["paths"]
    # what the route kinds add: 404 for a path id, 409 for the thread's state, 413 for a body
    assert "404" in paths["/threads/{thread_id}"]["get"]["responses"]
    assert "409" in paths["/threads/{thread_id}/runs/wait"]["post"]["responses"]
    assert "413" in paths["/threads"]["post"]["responses"]
    assert "409" not in paths["/threads/search"]["post"]["responses"]


def test_streams_and_empty_bodies_are_declared(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path, method in [
        ("/threads/{thread_id}/runs/stream", "post"),
        ("/threads/{thread_id}/runs/{run_id}/stream", "get"),
        ("/runs/stream", "post"),
    ]:
        assert list(paths[path][method]["responses"]["200"]["content"]) == ["text/event-stream"]
    for path, status in [
        ("/runs/cancel", "202"),
        ("/threads/{thread_id}/runs/{run_id}/cancel", "202"),
        ("/threads/{thread_id}/runs/{run_id}/cancel", "204"),
    ]:
        assert "content" not in paths[path]["post"]["responses"][status]


def test_a_route_added_later_gets_the_same_treatment(app: FastAPI) -> None:
    """Engineers add routes in parallel: theirs are documented without touching this module."""
    extra = APIRouter()

    @extra.get("/widgets/{widget_id}")
    async def get_widget(widget_id: str) -> dict[str, str]:
        return {"id": widget_id}

    app.include_router(extra)
    app.openapi_schema = None
    responses = app.openapi()["paths"]["/widgets/{widget_id}"]["get"]["responses"]
    assert {"200", "404", "422", "500"} <= set(responses)


def test_docs_pages_load_their_assets_from_this_server(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page)
            assert html.status_code == 200
            assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
            assets += re.findall(r"url: '([^']+)'", html.text)
            assert assets, html.text
            for asset in assets:
                assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
                assert client.get(asset).status_code == 200, asset
            assert "cdn" not in html.text.lower()
