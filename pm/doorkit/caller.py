"""The caller of a service entry, as every door builds it from a verified token."""

from __future__ import annotations

from pm.auth import Principal
from pm.services.kernel.caller import RequestContext


def caller_context(
    principal: Principal, *, message_id: str | None = None, origin: str | None = None
) -> RequestContext:
    """``message_id`` makes a command idempotent (the client's id of the request); ``origin``
    names the connection a request came by, so the hub gives it the response, not the event."""
    return RequestContext(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        roles=principal.roles,
        message_id=message_id,
        email=principal.email,
        name=principal.name,
        origin=origin,
    )
