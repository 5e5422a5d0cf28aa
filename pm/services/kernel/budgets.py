"""A tenant's budgets for what its commands write (QUOTA_EXCEEDED, naming the budget):

    storage   the bytes its file uses; past ``tenant_max_bytes`` every command is refused
              (waiting does not help; an operator raises the bound or the tenant is cleaned)
    writes    the bytes its file grows by, ``tenant_write_bytes_per_hour``, refilled evenly:
              one user can't grow a tenant by gigabytes an hour (each description is stored
              with its change event and its idempotency record)

Both are measured inside the command's transaction, by SQLite's own page counts: a command
starts only while the budgets have room, and its growth is charged after it ran.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from pm.errors import QuotaExceeded
from pm.observability import metrics

KEPT_TENANTS = 10_000  # write budgets remembered (least recently used forgotten: refilled)


class TenantBudgets:
    def __init__(self, *, max_bytes: int, write_bytes_per_hour: int) -> None:
        self.max_bytes = max_bytes
        self.capacity = float(write_bytes_per_hour)
        self.refill_per_second = write_bytes_per_hour / 3600
        self._left: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (bytes, at)
        self._lock = threading.Lock()  # commands of different tenants run on several threads

    def admit(self, tenant_id: str, used_bytes: int) -> None:
        """Raise QUOTA_EXCEEDED unless the tenant may write now."""
        if used_bytes >= self.max_bytes:
            metrics.QUOTA_REFUSALS.labels("storage").inc()
            raise QuotaExceeded(
                f"the tenant's storage budget ({self.max_bytes} bytes) is used up",
                budget="storage",
            )
        left = self._refilled(tenant_id)
        if left <= 0:
            metrics.QUOTA_REFUSALS.labels("writes").inc()
            wait_ms = max(1, int((1 - left) / self.refill_per_second * 1000))
            raise QuotaExceeded(
                "the tenant's write budget for this hour is used up",
                budget="writes",
                retry_after_ms=wait_ms,
            )

    def charge(self, tenant_id: str, grown_bytes: int) -> None:
        if grown_bytes <= 0:
            return
        with self._lock:
            left, at = self._left.get(tenant_id, (self.capacity, time.monotonic()))
            self._left[tenant_id] = (left - grown_bytes, at)

    def _refilled(self, tenant_id: str) -> float:
        now = time.monotonic()
        with self._lock:
            left, at = self._left.pop(tenant_id, (self.capacity, now))
            left = min(self.capacity, left + (now - at) * self.refill_per_second)
            self._left[tenant_id] = (left, now)
            while len(self._left) > KEPT_TENANTS:
                self._left.popitem(last=False)
        return left
