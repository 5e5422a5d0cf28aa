"""Per-connection token bucket and the process-wide connection caps."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from limits import parse


class TokenBucket:
    """``rate`` in the limits notation (e.g. ``100/10seconds``): that many requests may burst,
    refilled evenly over the window."""

    def __init__(self, rate: str) -> None:
        item = parse(rate)
        self.capacity = float(item.amount)
        self.refill_per_second = item.amount / item.get_expiry()
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> int:
        """0 if a request may go now, else the milliseconds until one may."""
        now = time.monotonic()
        self.tokens = min(
            self.capacity, self.tokens + (now - self.updated) * self.refill_per_second
        )
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, int((1 - self.tokens) / self.refill_per_second * 1000))


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
