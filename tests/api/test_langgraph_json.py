"""Bring your own graphs: a langgraph.json third-party graph served and driven with the SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from waypost.api.app import create_app
from waypost.graphs.langgraph_json import load_langgraph_json, register_langgraph_json
from waypost.graphs.registry import GraphRegistry
from waypost.runtime.errors import ConfigError

from tests.api.conftest import make_settings
from tests.api.server import serve

BYO = Path(__file__).parent / "byo"


def _config(tmp_path: Path, graphs: dict[str, str], env: object = None) -> Path:
    path = tmp_path / "langgraph.json"
    body: dict[str, object] = {"graphs": graphs, "dependencies": ["."]}
    if env is not None:
        body["env"] = env
    path.write_text(json.dumps(body))
    return path


async def test_langgraph_json_graph_served_through_sdk(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYO_SUFFIX", "")  # records the original state so teardown restores it
    monkeypatch.delenv("BYO_SUFFIX")
    (tmp_path / ".env").write_text("BYO_SUFFIX=!\n")
    config = _config(
        tmp_path,
        {"shouter": f"{BYO / 'my_graph.py'}:graph", "factory": f"{BYO / 'my_graph.py'}:make_graph"},
        env=".env",
    )
    registry = register_langgraph_json(GraphRegistry(), config)
    assert registry.names() == ["factory", "shouter"]
    app = create_app(make_settings(sqlite_url), registry)
    with serve(app) as url:
        client = get_client(url=url, api_key=None)
        try:
            for graph_id in ("shouter", "factory"):
                tid = (await client.threads.create())["thread_id"]
                paused = await client.runs.wait(tid, graph_id, input={"text": "hi"})
                assert isinstance(paused, dict)
                assert paused["__interrupt__"][0]["value"] == {"question": "publish HI!?"}
                done = await client.runs.wait(tid, graph_id, command={"resume": True})
                assert done == {"text": "hi", "shout": "HI!", "approved": True}
                assert len(await client.threads.get_history(tid)) >= 4
        finally:
            await client.http.client.aclose()


@pytest.mark.parametrize(
    ("graphs", "message"),
    [
        ({"bad": "no_colon_here"}, "'bad'"),
        ({"missing": "./nope.py:graph"}, "'missing'"),
        ({"noattr": f"{BYO / 'my_graph.py'}:nothing"}, "has no 'nothing'"),
    ],
)
def test_bad_entries_name_the_graph(tmp_path: Path, graphs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_langgraph_json(_config(tmp_path, graphs))


def test_missing_graphs_key(tmp_path: Path) -> None:
    path = tmp_path / "langgraph.json"
    path.write_text("{}")
    with pytest.raises(ConfigError, match="'graphs'"):
        load_langgraph_json(path)
