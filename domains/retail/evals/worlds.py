"""Fresh stores per case: each world is loaded once into a template SQLite file, then copied.

Loading the 500-user reference world takes a moment; copying a file takes milliseconds, so
every case starts from exactly the same bytes and cases never see each other's writes.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from waypost.domains.retail import domain as retail_domain
from waypost.domains.retail.tools import export_tau2_db, load_tau2_db
from waypost.domains.retail.tools.demo_data import DEFAULT_SEED, generate_demo_db
from waypost.domains.retail.tools.loader import Tau2Db, read_tau2_db
from waypost.evals.dataset import DEMO_WORLD
from waypost.runtime.db import make_engine, make_session_factory
from waypost.runtime.migrate import upgrade
from waypost.runtime.settings import DatabaseSettings

__all__ = ["CaseStore", "WorldTemplates", "world_data"]

RETAIL_MIGRATIONS = retail_domain.migrations or Path()

# The store needs only the tool ledger (core, up to 0007) and the retail branch: pinning them keeps
# eval stores independent of migrations added later for the app's own tables.
TOOL_LEDGER_REVISION = "0007"


def world_data(world: str) -> Tau2Db:
    """The tau2-format data of ``world`` ('demo' or a db.json path)."""
    return generate_demo_db(DEFAULT_SEED) if world == DEMO_WORLD else read_tau2_db(Path(world))


@dataclass
class CaseStore:
    """One case's private store: its session factory and a way to export it."""

    path: Path
    session_factory: sessionmaker[Session]

    def export(self) -> Tau2Db:
        with self.session_factory() as session:
            return export_tau2_db(session)


class WorldTemplates:
    """Template databases per world under ``workdir``, built on first use (thread-safe)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._templates: dict[str, Path] = {}
        self._initial: dict[str, Tau2Db] = {}
        self._lock = threading.Lock()
        self._counter = 0

    def template(self, world: str) -> Path:
        with self._lock:
            if world not in self._templates:
                path = self.workdir / f"template-{len(self._templates)}.db"
                path.unlink(missing_ok=True)
                engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
                try:
                    upgrade(engine, TOOL_LEDGER_REVISION)
                    upgrade(engine, "retail@head", locations=[RETAIL_MIGRATIONS])
                    load_tau2_db(make_session_factory(engine), world_data(world))
                    with make_session_factory(engine)() as session:
                        self._initial[world] = export_tau2_db(session)
                finally:
                    engine.dispose()
                self._templates[world] = path
            return self._templates[world]

    def initial(self, world: str) -> Tau2Db:
        """The store's content before any case ran (as exported, for diffs)."""
        self.template(world)
        return self._initial[world]

    @contextmanager
    def fresh(self, world: str, name: str) -> Iterator[CaseStore]:
        """A private copy of ``world``'s template, deleted afterwards."""
        template = self.template(world)
        with self._lock:
            self._counter += 1
            path = self.workdir / f"case-{self._counter}-{_safe(name)}.db"
        shutil.copyfile(template, path)
        engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}"))
        try:
            yield CaseStore(path=path, session_factory=make_session_factory(engine))
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:40]
