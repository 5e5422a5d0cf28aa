"""Bearer authentication and the per-user rate limit of the REST door.

The limit is keyed on tenant and user (never IP: many agents share egress addresses), counted
with slowapi's limiter (moving window) after the token is verified.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from slowapi import Limiter

from pm.errors import RateLimited, Unauthenticated
from pm.observability import metrics
from pm.services.context import RequestContext

bearer = HTTPBearer(auto_error=False, description="A JWT: `Authorization: Bearer <token>`")


class RestRateLimiter:
    def __init__(self, rate: str) -> None:
        self._limiter = Limiter(key_func=lambda: "", strategy="moving-window")
        self._rate = parse(rate)

    def check(self, tenant_id: str, user_id: str) -> None:
        strategy = self._limiter.limiter
        if strategy.hit(self._rate, "rest", tenant_id, user_id):
            return
        reset_at, _remaining = strategy.get_window_stats(self._rate, "rest", tenant_id, user_id)
        metrics.RATE_LIMITED.labels("rest").inc()
        raise RateLimited(
            "too many requests; slow down",
            retry_after_ms=max(1000, int((reset_at - time.time()) * 1000)),
        )


async def request_context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> RequestContext:
    components = request.app.state.pm
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required")
    principal = components.verifier.verify(credentials.credentials)
    request.app.state.rest_limiter.check(principal.tenant_id, principal.user_id)
    ctx = RequestContext(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        roles=principal.roles,
        email=principal.email,
        name=principal.name,
        message_id=request.headers.get("x-request-id"),
    )
    request.state.ctx = ctx
    await components.services.touch_user(ctx)
    return ctx


Caller = Annotated[RequestContext, Depends(request_context)]
