"""Liveness, readiness and server info."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from waypost.api.auth import Caller
from waypost.api.deps import AppServices
from waypost.api.errors import error_body
from waypost.server.identity import ROLE_SCOPES

router = APIRouter(tags=["system"])


@router.get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@router.get("/ready")
async def ready(services: AppServices) -> JSONResponse:
    """Ready when the database answers."""
    try:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse(error_body("database_error", "database unavailable"), status_code=503)
    return JSONResponse({"ready": True, "database": services.engine.dialect.name})


@router.get("/info")
async def info(services: AppServices) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "version": version("waypost"),
        "flags": {
            "assistants": True,
            "crons": True,
            "store": True,
            "mcp": True,
            "langsmith": False,
            "approvals": True,
        },
        "workflows": services.registry.names(),
    }


@router.get("/auth/whoami")
async def whoami(who: Caller) -> dict[str, Any]:
    """The caller as the server sees it: tenant, role, identity, what it may do."""
    return {
        "tenant": who.tenant,
        "role": who.role,
        "identity": who.identity,
        "kind": who.kind,
        "scopes": sorted(ROLE_SCOPES.get(who.role, ())),
    }
