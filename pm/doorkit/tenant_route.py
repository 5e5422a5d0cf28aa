"""The tenant a request is routed by: ``/t/<tenant>/...``, the path prefix the proxy in front of
a cluster hashes on (nginx ``hash $pm_tenant consistent``; deploy/nginx). A prefix is used, not a
sub-domain, so that one certificate and one origin serve every tenant and tests need no DNS.

``TenantRoute`` (ASGI middleware) strips the prefix, so ``/t/acme/api/v1/projects`` is served as
``/api/v1/projects`` and ``/t/acme/ws`` as ``/ws``, and remembers the tenant; a door then refuses
a token whose tenant is not the route's (``check_route``), so a request can't be routed by one
tenant and served as another. The route's tenant is only ever compared with the token's (itself
validated), never used for a path, so it needs no check of its own. Requests without the prefix
(a single node, or operators on a node directly) are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pm.auth import Principal
from pm.errors import Forbidden

PREFIX = "/t/"
ROUTE_TENANT = "pm_route_tenant"

Scope = dict[str, Any]


class TenantRoute:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(PREFIX):
            scope = _routed(scope)
        await self.app(scope, receive, send)


def _routed(scope: Scope) -> Scope:
    tenant, slash, rest = scope["path"][len(PREFIX) :].partition("/")
    if not tenant:
        return scope
    path = slash + rest or "/"
    state = {**scope.get("state", {}), ROUTE_TENANT: tenant}
    return {**scope, "path": path, "raw_path": path.encode(), "state": state}


def check_route(scope: Mapping[str, Any], principal: Principal) -> None:
    """Refuse a token for another tenant than the one the request was routed by."""
    route = scope.get("state", {}).get(ROUTE_TENANT)
    if route is not None and route != principal.tenant_id:
        raise Forbidden(f"this route is for tenant {route}; the token is for another tenant")
