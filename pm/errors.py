"""The one domain error tree. Every door maps it once (REST: status + JSON; WS: an Error frame).

    PmError                      code            extra
    ├── ValidationFailed         VALIDATION_ERROR field
    ├── NotFound                 NOT_FOUND
    ├── Unauthenticated          UNAUTHENTICATED
    ├── Forbidden                FORBIDDEN
    ├── Conflict                 CONFLICT         current_version, current, conflicts
    ├── DeleteBlocked            DELETE_BLOCKED
    ├── CycleDetected            CYCLE_DETECTED   path
    ├── RateLimited              RATE_LIMITED     retry_after_ms
    ├── PayloadTooLarge          PAYLOAD_TOO_LARGE
    ├── InvalidMessage           INVALID_MESSAGE
    ├── MethodNotAllowed         METHOD_NOT_ALLOWED   (HTTP: the path exists, not for this method)
    ├── ResyncRequired           RESYNC_REQUIRED
    ├── Unavailable              UNAVAILABLE      retry_after_ms
    ├── QuotaExceeded            QUOTA_EXCEEDED   budget, retry_after_ms
    ├── WrongNode                WRONG_NODE       owner (the node that serves the tenant)
    └── InternalError            INTERNAL         (message is always generic)

No transport is imported here; messages never carry SQL or a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldConflict:
    """One colliding field of a refused update."""

    field: str
    seen: Any
    stored: Any
    attempted: Any


class PmError(Exception):
    """Base of every error a service function may raise."""

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def details(self) -> dict[str, Any]:
        """Extra fields for the error body, beyond code, message and field."""
        return {}


class ValidationFailed(PmError):
    code = "VALIDATION_ERROR"


class NotFound(PmError):
    code = "NOT_FOUND"


class Unauthenticated(PmError):
    code = "UNAUTHENTICATED"


class Forbidden(PmError):
    code = "FORBIDDEN"


class Conflict(PmError):
    code = "CONFLICT"

    def __init__(
        self,
        message: str,
        *,
        current_version: int,
        current: Mapping[str, Any] | None = None,
        conflicts: list[FieldConflict] | None = None,
    ) -> None:
        super().__init__(message)
        self.current_version = current_version
        self.current = current
        self.conflicts = conflicts or []

    def details(self) -> dict[str, Any]:
        return {
            "current_version": self.current_version,
            "current": self.current,
            "conflicts": [vars(c) for c in self.conflicts],
        }


class DeleteBlocked(PmError):
    code = "DELETE_BLOCKED"


class CycleDetected(PmError):
    code = "CYCLE_DETECTED"

    def __init__(self, message: str, *, path: list[str]) -> None:
        super().__init__(message, field="blocking_item_id")
        self.path = path

    def details(self) -> dict[str, Any]:
        return {"path": self.path}


class RateLimited(PmError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms

    def details(self) -> dict[str, Any]:
        return {"retry_after_ms": self.retry_after_ms}


class PayloadTooLarge(PmError):
    code = "PAYLOAD_TOO_LARGE"


class InvalidMessage(PmError):
    code = "INVALID_MESSAGE"


class MethodNotAllowed(PmError):
    """An HTTP method the path does not serve (the answer lists the ones it does)."""

    code = "METHOD_NOT_ALLOWED"


class ResyncRequired(PmError):
    code = "RESYNC_REQUIRED"


class Unavailable(PmError):
    code = "UNAVAILABLE"

    def __init__(self, message: str, *, retry_after_ms: int = 1000) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms

    def details(self) -> dict[str, Any]:
        return {"retry_after_ms": self.retry_after_ms}


class QuotaExceeded(PmError):
    """A tenant's budget is spent: ``budget`` names it (``storage``, ``writes``,
    ``provisioning``); ``retry_after_ms`` is 0 when waiting won't help (storage)."""

    code = "QUOTA_EXCEEDED"

    def __init__(self, message: str, *, budget: str, retry_after_ms: int = 0) -> None:
        super().__init__(message)
        self.budget = budget
        self.retry_after_ms = retry_after_ms

    def details(self) -> dict[str, Any]:
        return {"budget": self.budget, "retry_after_ms": self.retry_after_ms}


class WrongNode(PmError):
    """The tenant is served by another node of the cluster (HTTP 421 Misdirected Request)."""

    code = "WRONG_NODE"

    def __init__(self, tenant_id: str, owner: str) -> None:
        super().__init__(f"tenant {tenant_id} is served by node {owner}")
        self.owner = owner

    def details(self) -> dict[str, Any]:
        return {"owner": self.owner}


class InternalError(PmError):
    code = "INTERNAL"

    def __init__(self, message: str = "internal error") -> None:
        super().__init__(message)
