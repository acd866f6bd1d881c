"""What each route needs: its scope, and its LangGraph auth resource and action.

One table for the whole API. A route that is not in it answers 403 to everyone (fail closed),
and the isolation test fails, so a new route cannot escape authorization by being forgotten.

    scope        read | run | decide | configure | admin | public
    resource     threads | assistants | crons | store (what ``@auth.on`` handlers see)
    starts_run   counts against the runs-per-minute limit
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROUTE_ACCESS", "Access", "access_for"]


@dataclass(frozen=True)
class Access:
    scope: str
    resource: str | None = None
    action: str | None = None
    starts_run: bool = False


def _a(scope: str, resource: str | None = None, action: str | None = None) -> Access:
    return Access(scope, resource, action)


_RUN = Access("run", "threads", "create_run", starts_run=True)

ROUTE_ACCESS: dict[tuple[str, str], Access] = {
    # system
    ("GET", "/ok"): _a("public"),
    ("GET", "/ready"): _a("read"),
    ("GET", "/info"): _a("read"),
    ("GET", "/metrics"): _a("admin"),
    ("GET", "/auth/whoami"): _a("read"),
    ("GET", "/docs"): _a("read"),
    ("GET", "/redoc"): _a("read"),
    ("GET", "/openapi.json"): _a("read"),
    # threads
    ("POST", "/threads"): _a("run", "threads", "create"),
    ("POST", "/threads/search"): _a("read", "threads", "search"),
    ("POST", "/threads/count"): _a("read", "threads", "search"),
    ("GET", "/threads/{thread_id}"): _a("read", "threads", "read"),
    ("PATCH", "/threads/{thread_id}"): _a("run", "threads", "update"),
    ("DELETE", "/threads/{thread_id}"): _a("run", "threads", "delete"),
    ("GET", "/threads/{thread_id}/state"): _a("read", "threads", "read"),
    ("POST", "/threads/{thread_id}/state"): _a("run", "threads", "update"),
    ("POST", "/threads/{thread_id}/state/checkpoint"): _a("read", "threads", "read"),
    ("GET", "/threads/{thread_id}/state/{checkpoint_id}"): _a("read", "threads", "read"),
    ("POST", "/threads/{thread_id}/history"): _a("read", "threads", "read"),
    ("GET", "/threads/{thread_id}/stream"): _a("read", "threads", "read"),
    # runs
    ("POST", "/threads/{thread_id}/runs"): _RUN,
    ("POST", "/threads/{thread_id}/runs/wait"): _RUN,
    ("POST", "/threads/{thread_id}/runs/stream"): _RUN,
    ("GET", "/threads/{thread_id}/runs"): _a("read", "threads", "search"),
    ("GET", "/threads/{thread_id}/runs/{run_id}"): _a("read", "threads", "read"),
    ("DELETE", "/threads/{thread_id}/runs/{run_id}"): _a("run", "threads", "delete"),
    ("GET", "/threads/{thread_id}/runs/{run_id}/join"): _a("read", "threads", "read"),
    ("GET", "/threads/{thread_id}/runs/{run_id}/stream"): _a("read", "threads", "read"),
    ("POST", "/threads/{thread_id}/runs/{run_id}/cancel"): _a("run", "threads", "update"),
    ("POST", "/runs"): _RUN,
    ("POST", "/runs/wait"): _RUN,
    ("POST", "/runs/stream"): _RUN,
    ("POST", "/runs/batch"): _RUN,
    ("POST", "/runs/cancel"): _a("run", "threads", "update"),
    ("GET", "/runs/{run_id}"): _a("read", "threads", "read"),
    # approvals
    ("GET", "/approvals"): _a("read"),
    ("GET", "/approvals/{approval_id}"): _a("read"),
    ("POST", "/approvals/{approval_id}/decision"): _a("decide"),
    # assistants
    ("POST", "/assistants"): _a("configure", "assistants", "create"),
    ("POST", "/assistants/search"): _a("read", "assistants", "search"),
    ("POST", "/assistants/count"): _a("read", "assistants", "search"),
    ("GET", "/assistants/{assistant_id}"): _a("read", "assistants", "read"),
    ("PATCH", "/assistants/{assistant_id}"): _a("configure", "assistants", "update"),
    ("DELETE", "/assistants/{assistant_id}"): _a("configure", "assistants", "delete"),
    ("GET", "/assistants/{assistant_id}/graph"): _a("read", "assistants", "read"),
    ("GET", "/assistants/{assistant_id}/schemas"): _a("read", "assistants", "read"),
    ("GET", "/assistants/{assistant_id}/subgraphs"): _a("read", "assistants", "read"),
    ("POST", "/assistants/{assistant_id}/versions"): _a("read", "assistants", "read"),
    ("POST", "/assistants/{assistant_id}/latest"): _a("configure", "assistants", "update"),
    # crons
    ("POST", "/runs/crons"): Access("run", "crons", "create", starts_run=True),
    ("POST", "/threads/{thread_id}/runs/crons"): Access("run", "crons", "create", starts_run=True),
    ("POST", "/runs/crons/search"): _a("read", "crons", "search"),
    ("POST", "/runs/crons/count"): _a("read", "crons", "search"),
    ("GET", "/runs/crons/{cron_id}"): _a("read", "crons", "read"),
    ("PATCH", "/runs/crons/{cron_id}"): _a("run", "crons", "update"),
    ("DELETE", "/runs/crons/{cron_id}"): _a("run", "crons", "delete"),
    # store
    ("PUT", "/store/items"): _a("run", "store", "put"),
    ("GET", "/store/items"): _a("read", "store", "get"),
    ("DELETE", "/store/items"): _a("run", "store", "delete"),
    ("POST", "/store/items/search"): _a("read", "store", "search"),
    ("POST", "/store/namespaces"): _a("read", "store", "list_namespaces"),
    # retrieval collections (api/routes/collections.py)
    ("GET", "/collections"): _a("read"),
    ("GET", "/collections/{collection}"): _a("read"),
    ("POST", "/collections/{collection}/search"): _a("read"),
    ("PUT", "/collections/{collection}"): _a("configure"),
    ("POST", "/collections/{collection}/documents"): _a("configure"),
    ("DELETE", "/collections/{collection}"): _a("configure"),
    # known LangGraph routes that answer 501 not_supported
    ("POST", "/threads/{thread_id}/copy"): _a("run", "threads", "read"),
    ("POST", "/threads/prune"): _a("run", "threads", "delete"),
    # the console (api/console): pages read, the decision form decides; login and its
    # assets are public (a page without a session redirects to the login)
    ("GET", "/console"): _a("read"),
    ("GET", "/console/login"): _a("public"),
    ("POST", "/console/login"): _a("public"),
    ("POST", "/console/logout"): _a("read"),
    ("GET", "/console/static/{name:path}"): _a("public"),
    ("GET", "/console/approvals"): _a("read"),
    ("GET", "/console/approvals/stream"): _a("read"),
    ("GET", "/console/approvals/{approval_id}"): _a("read"),
    ("POST", "/console/approvals/{approval_id}"): _a("decide"),
    ("GET", "/console/runs"): _a("read"),
    ("GET", "/console/runs/{run_id}"): _a("read"),
    ("GET", "/console/dashboard"): _a("read"),
    # MCP: tools that start runs and decide approvals check those scopes per call
    ("GET", "/mcp"): _a("read"),
    ("POST", "/mcp"): _a("read"),
    ("DELETE", "/mcp"): _a("read"),
}


def access_for(method: str, path: str) -> Access | None:
    """The access rule of a route (``path`` is the route's template); typed workflow routes
    (``/workflows/{name}/runs``) start runs."""
    found = ROUTE_ACCESS.get((method, path))
    if found is not None:
        return found
    if method == "POST" and path.startswith("/workflows/") and path.endswith("/runs"):
        return _RUN
    return None
