"""The typed dependencies of the REST routes (FastAPI ``Annotated`` aliases).

Services  the ServiceRunner every route calls once
Caller    the verified, rate-charged caller of this request (its RequestContext)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pm.doorkit.asgi import pm_app
from pm.doorkit.caller import caller_context
from pm.doorkit.tenant_route import check_route
from pm.errors import Unauthenticated
from pm.observability.logging import update_bound
from pm.rest.observe import message_id_of
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner

bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from your identity provider: `Authorization: Bearer <token>`. "
    "The tenant comes from its `tenant_id` claim, the user from `sub`.",
)


def _services(request: Request) -> ServiceRunner:
    return pm_app(request.app).components.services


Services = Annotated[ServiceRunner, Depends(_services)]


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> RequestContext:
    """The token is verified (any failure is 401), then the caller's budget is charged, then
    the caller is upserted from its claims."""
    app = pm_app(request.app)
    if credentials is None:
        raise Unauthenticated("a bearer token is required")
    principal = app.components.verifier.verify(credentials.credentials)
    check_route(request.scope, principal)
    update_bound(tenant=principal.tenant_id, user=principal.user_id)
    app.user_limiter.charge(principal.tenant_id, principal.user_id, door="rest")
    ctx = caller_context(principal, message_id=message_id_of(request.scope))
    await app.components.services.touch_user(ctx)
    return ctx


Caller = Annotated[RequestContext, Depends(_caller)]
