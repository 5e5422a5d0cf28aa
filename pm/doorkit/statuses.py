"""The HTTP status of each domain error code (DOMAIN.md), and the headers that go with a
refusal, for every answer given over HTTP: a REST error, a refused MCP request and a refused
WebSocket handshake say the same thing the same way."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from pm.errors import PmError, QuotaExceeded, RateLimited, Unavailable, WrongNode

HTTP_STATUS: Mapping[str, int] = MappingProxyType(
    {
        "VALIDATION_ERROR": 422,
        "NOT_FOUND": 404,
        "UNAUTHENTICATED": 401,
        "FORBIDDEN": 403,
        "CONFLICT": 409,
        "DELETE_BLOCKED": 409,
        "CYCLE_DETECTED": 409,
        "RATE_LIMITED": 429,
        "PAYLOAD_TOO_LARGE": 413,
        "INVALID_MESSAGE": 400,
        "METHOD_NOT_ALLOWED": 405,
        "RESYNC_REQUIRED": 410,
        "UNAVAILABLE": 503,
        "QUOTA_EXCEEDED": 429,
        "WRONG_NODE": 421,
        "INTERNAL": 500,
    }
)

# A 421 names the node that serves the tenant, so the proxy can send the request on to it.
OWNER_HEADER = "PM-Owner"


def refusal_headers(exc: PmError) -> dict[str, str]:
    """``Retry-After`` (whole seconds) when a retry is due later (none for a budget that waiting
    won't refill), ``WWW-Authenticate`` when a token is missing or refused, the owner node of a
    tenant served elsewhere."""
    headers: dict[str, str] = {}
    if isinstance(exc, WrongNode):
        headers[OWNER_HEADER] = exc.owner
    if isinstance(exc, RateLimited | Unavailable | QuotaExceeded) and exc.retry_after_ms:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_ms / 1000)))
    if exc.code == "UNAUTHENTICATED":
        headers["WWW-Authenticate"] = "Bearer"
    return headers
