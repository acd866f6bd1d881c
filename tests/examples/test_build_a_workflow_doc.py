"""docs/build-a-workflow.md shows the helpdesk example's code as it is: every code block titled
with a file name must appear, verbatim, in that file of ``examples/helpdesk``."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "build-a-workflow.md"
EXAMPLE = PROJECT_ROOT / "examples" / "helpdesk"
TITLED = re.compile(r'^```\w+ title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def test_every_titled_block_is_the_example_code_verbatim() -> None:
    blocks = TITLED.findall(DOC.read_text(encoding="utf-8"))
    stale = [
        path for path, body in blocks if body not in (EXAMPLE / path).read_text(encoding="utf-8")
    ]
    assert stale == [], "these blocks no longer match their file"
    shown = {path for path, _ in blocks}
    # the tutorial walks through every part of the package
    assert shown >= {
        "pyproject.toml",
        "helpdesk/__init__.py",
        "helpdesk/store.py",
        "helpdesk/migrations/0001_helpdesk.py",
        "helpdesk/tools.py",
        "helpdesk/workflow.py",
        "helpdesk/cli.py",
        "try_helpdesk.py",
    }
