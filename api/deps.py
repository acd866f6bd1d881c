"""FastAPI dependencies and the ``Annotated`` aliases that keep routes short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from waypost.runtime.errors import DatabaseError
from waypost.runtime.settings import Settings, get_settings
from waypost.server.assistants import DEFAULT_TENANT
from waypost.server.services import Services

__all__ = [
    "AppServices",
    "AppSettings",
    "Tenant",
    "app_settings",
    "current_tenant",
    "get_services",
]


async def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise DatabaseError("the server is still starting")
    return services


async def app_settings(request: Request) -> Settings:
    """The settings the app was built with (``get_settings()`` for an app built without)."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


async def current_tenant(request: Request) -> str:
    """The tenant whose rows a request may see and change: the authenticated caller's."""
    principal = getattr(request.state, "principal", None)
    return principal.tenant if principal is not None else DEFAULT_TENANT


# Both are ``async def``: FastAPI runs a plain ``def`` dependency on a worker thread, a thread
# hand-off per request for a dictionary lookup.
AppServices = Annotated[Services, Depends(get_services)]
AppSettings = Annotated[Settings, Depends(app_settings)]
Tenant = Annotated[str, Depends(current_tenant)]
