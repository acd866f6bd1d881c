"""The retail workflow served over HTTP with a scripted model on the tiny store (one cancel)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from waypost.api.app import create_app
from waypost.domains.retail.tools import load_tau2_db
from waypost.domains.retail.workflow import build as build_retail
from waypost.domains.retail.workflow import retail_support_spec
from waypost.graphs.plugins import migrate
from waypost.graphs.registry import GraphDeps, GraphRegistry
from waypost.runtime.db import make_engine, make_session_factory

from tests.api.conftest import make_settings
from tests.api.server import serve
from tests.fakes import ScriptedChatModel
from tests.graphs.conftest import CANCEL_INTAKE, CANCEL_PLAN, TINY_DB


@contextmanager
def serve_retail_cancel(db_file: Path) -> Iterator[tuple[str, Any]]:
    """Yield the server's base URL and a session factory on its database."""
    url = f"sqlite:///{db_file}"
    engine = make_engine(make_settings(url).database)
    migrate(engine)
    factory = make_session_factory(engine)
    load_tau2_db(factory, copy.deepcopy(TINY_DB))
    model = ScriptedChatModel(responses=[CANCEL_INTAKE, CANCEL_PLAN])
    spec = retail_support_spec()

    def build(deps: GraphDeps) -> Any:
        return build_retail(replace(deps, model_factory=lambda _name: model))

    registry = GraphRegistry()
    registry.register(replace(spec, build=build))
    try:
        with serve(create_app(make_settings(url), registry)) as base:
            yield base, factory
    finally:
        engine.dispose()
