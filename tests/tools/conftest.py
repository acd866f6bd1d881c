"""Retail store fixtures: a migrated SQLite template holding ``db.json``, copied per test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail.tools import load_tau2_db
from waypost.graphs.plugins import migrate
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.settings import DatabaseSettings
from waypost.tools import ToolContext

from tests.conftest import SHARED_RETAIL

DB_JSON = SHARED_RETAIL / "db.json"
TASKS = SHARED_RETAIL / "tasks_train.jsonl"
TOOLS_JSON = SHARED_RETAIL / "tools.json"


def require_reference() -> None:
    if not DB_JSON.is_file() or not TASKS.is_file():
        pytest.skip(f"the tau2 retail reference world is absent ({SHARED_RETAIL})")


@pytest.fixture(scope="session")
def reference_db() -> dict[str, Any]:
    require_reference()
    data: dict[str, Any] = json.loads(DB_JSON.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def reference_template(
    tmp_path_factory: pytest.TempPathFactory, reference_db: dict[str, Any]
) -> Path:
    """A migrated SQLite file holding ``db.json``, built once per session."""
    path = tmp_path_factory.mktemp("retail") / "template.db"
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    migrate(engine)
    load_tau2_db(make_session_factory(engine), reference_db)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def store_factory(
    reference_template: Path, tmp_path: Path
) -> Iterator[Callable[[], sessionmaker[Session]]]:
    """Makes fresh copies of the reference store; each call returns a new session factory."""
    engines: list[Engine] = []

    def make() -> sessionmaker[Session]:
        path = tmp_path / f"store{len(engines)}.db"
        shutil.copyfile(reference_template, path)
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
        engines.append(engine)
        return make_session_factory(engine)

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def reference_store(
    store_factory: Callable[[], sessionmaker[Session]],
) -> sessionmaker[Session]:
    """A fresh copy of the reference store (``db.json``) on SQLite."""
    return store_factory()


def make_ctx(session_factory: sessionmaker[Session], run_id: str = "run-1") -> ToolContext:
    return ToolContext(session_factory=session_factory, run_id=run_id)
