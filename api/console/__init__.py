"""The reviewer console at ``/console``: server-rendered pages of the API process.

Login with an API key (then a signed session cookie), the approvals inbox (live over SSE) and
decisions, runs and their timelines, and dashboards. Pages are Jinja2 templates; the only
script is ``console.js`` plus the vendored Chart.js (``static/vendor``, MIT, see its LICENSE).
Every route is in ``api.access.ROUTE_ACCESS`` and runs the same ``authorize`` dependency as the
API (role scopes, another tenant's ids answer 404).
"""

from __future__ import annotations

from fastapi import FastAPI
from waypost.api.console import approval_pages, run_pages, session_pages
from waypost.api.console.session import make_session_reader
from waypost.api.console.web import install_console_errors

__all__ = ["install_console", "make_session_reader"]


def install_console(app: FastAPI) -> None:
    """Mount the pages and their HTML error handling (after the API's error handlers)."""
    for module in (session_pages, approval_pages, run_pages):
        app.include_router(module.router)
    install_console_errors(app)
