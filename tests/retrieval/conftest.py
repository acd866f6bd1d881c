from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
# ../shared/banking beside the project; WAYPOST_SHARED_DIR points elsewhere (a worktree)
BANKING = Path(os.environ.get("WAYPOST_SHARED_DIR", PROJECT_ROOT.parent / "shared")) / "banking"


@pytest.fixture
def kb_folder(tmp_path: Path) -> Path:
    """A writable copy of the fixture documents."""
    target = tmp_path / "kb"
    target.mkdir()
    for f in (FIXTURES / "kb").iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    return target
