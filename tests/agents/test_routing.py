"""The routing table: lookup order, files, settings, the compact form, clear errors."""

from __future__ import annotations

import json

import pytest
from waypost.agents.routing import (
    load_routing,
    parse_route_spec,
    parse_routing,
    routing_from_settings,
)
from waypost.runtime.errors import ConfigError
from waypost.runtime.settings import RoutingSettings, Settings

A, B, C, D = (f"local:{n}" for n in "abcd")


def test_lookup_goes_from_the_exact_step_to_the_defaults() -> None:
    table = parse_routing(
        {"wf": {"plan": A, "*": B}, "*": {"plan": C, "*": D}},
    )
    assert table.resolve("wf", "plan", "x").route.model == A
    assert table.resolve("wf", "intake", "x").route.model == B
    assert table.resolve("other", "plan", "x").route.model == C
    assert table.resolve("other", "intake", "x").route.model == D
    empty = parse_routing({})
    resolved = empty.resolve("wf", "plan", "local:default")
    assert (resolved.route.model, resolved.source) == ("local:default", "default")


def test_files_settings_and_inline_entries_combine(tmp_path, monkeypatch) -> None:
    toml = tmp_path / "routing.toml"
    toml.write_text(
        '[wf.plan]\nmodel = "local:a"\nfallbacks = ["local:b"]\ncascade = true\n'
        '[wf.intake]\nmodel = "local:a"\n'
    )
    table = load_routing(toml)
    plan = table.route("wf", "plan")
    assert plan is not None and plan.cascade and plan.models == (A, B)

    monkeypatch.setenv("WAYPOST_ROUTING__FILE", str(toml))
    monkeypatch.setenv("WAYPOST_ROUTING__TABLE", json.dumps({"wf": {"intake": "local:c"}}))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    combined = routing_from_settings(settings)
    assert combined.route("wf", "intake").model == C  # type: ignore[union-attr]
    assert combined.route("wf", "plan").cascade  # type: ignore[union-attr]

    written = tmp_path / "written.json"
    written.write_text(json.dumps({"routing": {"wf": {"plan": A}}, "chosen_by": {}}))
    assert load_routing(written).route("wf", "plan").model == A  # type: ignore[union-attr]


def test_the_compact_form_round_trips() -> None:
    table = parse_route_spec("intake=local:a, plan=local:a>local:b, *=local:c|local:d", "wf")
    assert table.label("wf") == "intake=local:a,plan=local:a>local:b,*=local:c|local:d"
    assert parse_route_spec(table.label("wf"), "wf") == table
    assert parse_routing(table.to_json()) == table


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"wf": {"plan": "gpt-4o"}}, "route wf.plan: model name 'gpt-4o'"),
        ({"wf": {"plan": {"model": A, "casacde": True}}}, "route wf.plan: casacde"),
        ({"wf": ["plan"]}, "'wf' must map step names to routes"),
        (["wf"], "a routing table is an object"),
    ],
)
def test_bad_tables_are_config_errors_naming_the_route(raw, message) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_routing(raw)


def test_bad_files_are_config_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_routing(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_routing(broken)
    assert not routing_from_settings(Settings(routing=RoutingSettings(), _env_file=None))  # type: ignore[call-arg]
