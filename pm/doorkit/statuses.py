"""The HTTP status of each domain error code (DOMAIN.md), for every answer given over HTTP: a
REST error and a refused WebSocket handshake say the same thing the same way."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

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
