"""Bearer authentication and the per-user rate limit of the REST door.

Every /api/v1 route depends on ``Caller``: the token is verified (any failure is 401), then the
caller's budget is charged, then the caller is upserted from its claims. The limit is keyed on
tenant and user, never on the IP address (many agents share an egress address, and one tenant's
traffic must not spend another's budget); it is counted by slowapi's limiter over a moving
window, so a burst at a window edge can't double the rate.
"""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from slowapi import Limiter

from pm.errors import RateLimited, Unauthenticated
from pm.observability import metrics
from pm.observability.logging import update_bound
from pm.services.context import RequestContext

bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from your identity provider: `Authorization: Bearer <token>`. "
    "The tenant comes from its `tenant_id` claim, the user from `sub`.",
)


class RestRateLimiter:
    """``rate`` requests per tenant and user, in the ``limits`` notation (``600/minute``)."""

    def __init__(self, rate: str) -> None:
        self._rate = parse(rate)
        self._windows = Limiter(key_func=lambda: "", strategy="moving-window").limiter

    def charge(self, tenant_id: str, user_id: str) -> None:
        """Count one request, or raise RATE_LIMITED with the seconds until one is allowed."""
        if self._windows.hit(self._rate, "rest", tenant_id, user_id):
            return
        reset_at, _remaining = self._windows.get_window_stats(
            self._rate, "rest", tenant_id, user_id
        )
        metrics.RATE_LIMITED.labels("rest").inc()
        wait_ms = max(1000, math.ceil((reset_at - time.time()) * 1000))
        raise RateLimited(
            "too many requests; retry after the Retry-After seconds", retry_after_ms=wait_ms
        )


async def request_context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> RequestContext:
    """The verified caller of this request, charged against its rate limit."""
    components = request.app.state.pm
    if credentials is None:
        raise Unauthenticated("a bearer token is required")
    principal = components.verifier.verify(credentials.credentials)
    update_bound(tenant=principal.tenant_id, user=principal.user_id)
    request.app.state.rest_limiter.charge(principal.tenant_id, principal.user_id)
    ctx = RequestContext(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        roles=principal.roles,
        email=principal.email,
        name=principal.name,
        message_id=request.state.message_id,
    )
    request.state.ctx = ctx
    await components.services.touch_user(ctx)
    return ctx


Caller = Annotated[RequestContext, Depends(request_context)]
