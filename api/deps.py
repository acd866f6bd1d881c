"""FastAPI dependencies and the ``Annotated`` aliases that keep routes short."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.services import Services
from runtime.errors import DatabaseError
from runtime.settings import Settings, get_settings

__all__ = ["AppServices", "AppSettings", "get_services"]


def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise DatabaseError("the server is still starting")
    return services


AppServices = Annotated[Services, Depends(get_services)]
AppSettings = Annotated[Settings, Depends(get_settings)]
