"""The MCP endpoint's front door, in ASGI: the REST door's rules for an HTTP request, before the
SDK sees it. A body declared larger than ``mcp_max_request_bytes`` is refused (413; the SDK
also stops reading one that grows past it); the bearer token is verified (missing or bad: 401
with ``WWW-Authenticate: Bearer``), the caller's per-user budget is charged (shared with REST:
429 with ``Retry-After``), the caller is upserted from its claims; then the verified
principal rides in the ASGI scope to the tool handlers (``principal_of``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from pm.auth import Principal
from pm.doorkit.caller import caller_context
from pm.doorkit.limits import UserRateLimiter
from pm.doorkit.statuses import HTTP_STATUS, refusal_headers
from pm.errors import PayloadTooLarge, PmError, Unauthenticated
from pm.observability import metrics
from pm.observability.logging import update_bound
from pm.wiring import Components

PRINCIPAL = "pm.principal"


def principal_of(request: Any) -> Principal:
    """The principal the gate verified for this request (the SDK hands a handler the request
    it came in)."""
    principal = request.scope.get(PRINCIPAL) if isinstance(request, Request) else None
    if not isinstance(principal, Principal):
        raise Unauthenticated("a bearer token is required")
    return principal


class Gate:
    def __init__(self, app: ASGIApp, components: Components, limiter: UserRateLimiter) -> None:
        self.app = app
        self.components = components
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            scope[PRINCIPAL] = await self._admit(scope)
        except PmError as exc:
            await _refusal(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope) -> Principal:
        headers = Request(scope).headers
        bound = self.components.settings.mcp_max_request_bytes
        declared = headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > bound:
            metrics.BOUND_HITS.labels("mcp_request_bytes").inc()
            raise PayloadTooLarge(f"an MCP request is at most {bound} bytes")
        header = headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer token is required")
        principal = self.components.verifier.verify(token.strip())
        update_bound(tenant=principal.tenant_id, user=principal.user_id)
        self.limiter.charge(principal.tenant_id, principal.user_id, door="mcp")
        await self.components.services.touch_user(caller_context(principal))
        return principal


def _refusal(exc: PmError) -> JSONResponse:
    """The REST door's error body, status and headers."""
    metrics.HTTP_ERRORS.labels(exc.code).inc()
    body = {"error": {"code": exc.code, "message": exc.message, "field": exc.field}}
    return JSONResponse(body, status_code=HTTP_STATUS[exc.code], headers=refusal_headers(exc))
