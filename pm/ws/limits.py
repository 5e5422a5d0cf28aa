"""The WebSocket connection caps: the process, each tenant, each user."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ConnectionCaps:
    total: int
    per_tenant: int
    per_user: int
    open_total: int = 0
    by_tenant: Counter[str] = field(default_factory=Counter)
    by_user: Counter[tuple[str, str]] = field(default_factory=Counter)

    def refusal(self, tenant_id: str, user_id: str) -> tuple[str, str] | None:
        """(error code, reason) if one more connection would break a cap: the process and the
        tenant are out of room (UNAVAILABLE), a user has opened too many (RATE_LIMITED)."""
        if self.open_total >= self.total:
            return "UNAVAILABLE", "the server has too many connections"
        if self.by_tenant[tenant_id] >= self.per_tenant:
            return "UNAVAILABLE", "the tenant has too many connections"
        if self.by_user[(tenant_id, user_id)] >= self.per_user:
            return "RATE_LIMITED", "too many connections for this user"
        return None

    def acquire(self, tenant_id: str, user_id: str) -> None:
        self.open_total += 1
        self.by_tenant[tenant_id] += 1
        self.by_user[(tenant_id, user_id)] += 1

    def release(self, tenant_id: str, user_id: str) -> None:
        self.open_total -= 1
        self.by_tenant[tenant_id] -= 1
        self.by_user[(tenant_id, user_id)] -= 1
        if self.by_tenant[tenant_id] <= 0:
            del self.by_tenant[tenant_id]
        if self.by_user[(tenant_id, user_id)] <= 0:
            del self.by_user[(tenant_id, user_id)]
