"""Run the Schemathesis CLI with ``ast.parse`` serialised across its worker threads.

CPython 3.11 keeps the AST converter's recursion counter in per-interpreter state, so two threads
parsing at once can corrupt it and raise ``SystemError: AST constructor recursion depth mismatch``
(fixed in later CPython releases). Hypothesis parses source files to describe lambdas while
Schemathesis generates data on several threads, so with ``--workers 2`` a run can crash inside the
tool itself, a failure that says nothing about the API under test. One lock around ``ast.parse``
removes that race without changing what is generated or checked.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

_parse = ast.parse
_lock = threading.Lock()


def _serialised_parse(*args: Any, **kwargs: Any) -> Any:
    with _lock:
        return _parse(*args, **kwargs)


if __name__ == "__main__":
    ast.parse = _serialised_parse  # type: ignore[assignment]
    from schemathesis.cli import schemathesis

    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
