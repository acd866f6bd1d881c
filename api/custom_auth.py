"""LangGraph custom auth: a ``langgraph_sdk.Auth`` object named in ``langgraph.json``.

``"auth": {"path": "./auth.py:auth"}``. Waypost honours it as the LangGraph server does:

- ``@auth.authenticate`` runs on every request (except public paths) with the arguments it asks
  for by name (``request``, ``headers`` as lowercase ``bytes`` keys, ``authorization``,
  ``path``, ``method``, ``query_params``, ``path_params``, ``scopes``, ``user``, ``scope``). It
  returns an identity string, a dict with ``identity`` (and ``permissions``, ...), or a user
  object; ``Auth.exceptions.HTTPException`` answers its 401/403.
- ``@auth.on`` handlers: exactly one runs per request, the first of (resource, action),
  (resource, *), (*, action), (*, *), global. ``None``/``True`` allows, ``False`` is 403, a dict is
  a filter on the resource's metadata (``$eq``, ``$contains``, ``$or``, ``$and``); a handler may
  stamp ``value["metadata"]`` on create.

Waypost additions: a user dict may carry ``tenant`` and ``role`` (else ``default`` and ``admin``:
with custom auth, the handlers are the access policy).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from waypost.runtime.errors import AuthError, ConfigError, Forbidden
from waypost.server.identity import ROLE_SCOPES, Principal

__all__ = ["CustomAuth", "load_auth"]


def load_auth(ref: str, base: Path) -> Any:
    """The ``Auth`` object at ``path/to/file.py:attr`` (relative to ``base``) or ``module:attr``."""
    from langgraph_sdk import Auth

    module_ref, sep, attr = ref.rpartition(":")
    if not sep or not module_ref or not attr:
        raise ConfigError(f"langgraph.json auth.path: expected 'file.py:attr', got {ref!r}")
    try:
        if module_ref.endswith(".py") or "/" in module_ref:
            path = (base / module_ref).resolve()
            spec = importlib.util.spec_from_file_location(f"waypost_auth_{abs(hash(path))}", path)
            if spec is None or spec.loader is None or not path.is_file():
                raise ConfigError(f"langgraph.json auth.path: {path} not found")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_ref)
        auth = getattr(module, attr)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"langgraph.json auth.path {ref!r} failed to load: {exc}") from exc
    if not isinstance(auth, Auth):
        raise ConfigError(f"langgraph.json auth.path {ref!r} is not a langgraph_sdk.Auth")
    if auth._authenticate_handler is None:
        raise ConfigError(f"langgraph.json auth {ref!r} has no @auth.authenticate handler")
    return auth


def _user_dict(result: Any) -> tuple[dict[str, Any], list[str]]:
    if isinstance(result, tuple) and len(result) == 2:
        permissions, user = result
        data, _ = _user_dict(user)
        return data, [str(p) for p in permissions or ()]
    if isinstance(result, str):
        return {"identity": result}, []
    if isinstance(result, Mapping):
        if "identity" not in result:
            raise ConfigError("@auth.authenticate returned a dict without 'identity'")
        data = dict(result)
        return data, [str(p) for p in data.get("permissions") or ()]
    identity = getattr(result, "identity", None)
    if identity is not None:
        data = {"identity": str(identity)}
        for name in ("display_name", "tenant", "role", "email"):
            if getattr(result, name, None) is not None:
                data[name] = getattr(result, name)
        return data, [str(p) for p in getattr(result, "permissions", ()) or ()]
    raise ConfigError(f"@auth.authenticate returned {type(result).__name__}, not a user")


def _status_of(exc: BaseException) -> tuple[int, str] | None:
    """(status, detail) of a ``langgraph_sdk.Auth.exceptions.HTTPException``."""
    from langgraph_sdk.auth.exceptions import HTTPException

    if isinstance(exc, HTTPException):
        return int(exc.status_code), str(exc.detail or "")
    return None


def _raise_as_auth_error(exc: BaseException) -> None:
    found = _status_of(exc)
    if found is None:
        if isinstance(exc, AssertionError):
            raise Forbidden(str(exc) or "forbidden") from exc
        return
    status, detail = found
    if status == 403:
        raise Forbidden(detail or "forbidden") from exc
    if status == 401:
        raise AuthError(detail or "unauthorized") from exc
    raise ConfigError(f"an auth handler raised HTTP {status}: {detail}") from exc


class CustomAuth:
    """A loaded ``Auth`` object, called the way the LangGraph server calls it."""

    def __init__(self, auth: Any) -> None:
        self.auth = auth
        handler = auth._authenticate_handler
        self._authenticate = handler
        self._wants = set(inspect.signature(handler).parameters)

    async def authenticate(self, request: Request) -> Principal:
        """The caller, or ``AuthError``/``Forbidden`` (never a 500 for a refused request)."""
        scope = request.scope
        available: dict[str, Any] = {
            "request": request,
            "headers": {k.lower(): v for k, v in scope.get("headers", [])},
            "authorization": request.headers.get("authorization"),
            "path": scope.get("path", ""),
            "method": scope.get("method", "GET"),
            "query_params": QueryParams(scope.get("query_string", b"")),
            "path_params": scope.get("path_params", {}),
            "scopes": [],
            "user": None,
            "scope": scope,
        }
        kwargs = {k: v for k, v in available.items() if k in self._wants}
        try:
            result = self._authenticate(**kwargs)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            _raise_as_auth_error(exc)
            raise
        user, permissions = _user_dict(result)
        tenant = str(user.get("tenant") or "default")
        role = str(user.get("role") or "admin")
        if role not in ROLE_SCOPES:
            role = "viewer"
        return Principal(
            tenant=tenant,
            role=role,
            identity=str(user["identity"]),
            kind="custom",
            display_name=str(user.get("display_name") or user["identity"]),
            permissions=tuple(permissions),
            user=user,
        )

    def _handler(self, resource: str, action: str) -> Any:
        handlers = self.auth._handlers
        for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
            found = handlers.get(key)
            if found:
                return found[-1]
        return self.auth._global_handlers[-1] if self.auth._global_handlers else None

    async def authorize(
        self, principal: Principal, resource: str, action: str, value: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Run the one matching handler: None to allow, a filter dict, or ``Forbidden``."""
        handler = self._handler(resource, action)
        if handler is None:
            return None
        from langgraph_sdk.auth.types import AuthContext

        user = _User(principal.user or {"identity": principal.identity})
        ctx = AuthContext(
            user=user,
            permissions=list(principal.permissions),
            resource=resource,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
        )
        try:
            result = handler(ctx=ctx, value=value)
            if asyncio.iscoroutine(result):
                result = await result
        except Exception as exc:
            _raise_as_auth_error(exc)
            raise
        if result is None or result is True:
            return None
        if result is False:
            raise Forbidden("Forbidden")
        if isinstance(result, dict):
            return result
        raise ConfigError(f"auth handler returned {type(result).__name__}, not a filter")


class _User(dict):  # type: ignore[type-arg]
    """The user as handlers see it: ``ctx.user.identity`` and ``ctx.user["identity"]``."""

    def __getattr__(self, name: str) -> Any:
        if name == "display_name":
            return self.get("display_name", self.get("identity"))
        if name == "is_authenticated":
            return self.get("is_authenticated", True)
        if name == "permissions":
            return self.get("permissions", [])
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
