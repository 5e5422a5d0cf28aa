"""The bound on tenants a first valid token creates (``auto_provision``): at most
``max_tenants`` on disk, and at most ``tenant_provision_rate`` new ones (in the ``limits``
notation, over the whole process). Either refusal is QUOTA_EXCEEDED, budget ``provisioning``;
no file is made. ``pm tenants create`` (an operator) is not bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from limits import parse

from pm.errors import QuotaExceeded
from pm.observability import metrics


class ProvisioningBudget:
    def __init__(self, *, max_tenants: int, rate: str, count_existing: Callable[[], int]) -> None:
        item = parse(rate)
        self.max_tenants = max_tenants
        self.capacity = float(item.amount)
        self.refill_per_second = item.amount / item.get_expiry()
        self._tokens = self.capacity
        self._at = time.monotonic()
        self._count_existing = count_existing
        self._existing: int | None = None  # counted on the first creation, then kept
        self._lock = threading.Lock()  # tenants open on worker threads

    def admit(self) -> None:
        """Count one new tenant, or raise QUOTA_EXCEEDED."""
        with self._lock:
            if self._existing is None:
                self._existing = self._count_existing()
            now = time.monotonic()
            self._tokens = min(
                self.capacity, self._tokens + (now - self._at) * self.refill_per_second
            )
            self._at = now
            if self._existing >= self.max_tenants:
                raise self._refused(f"this server holds its {self.max_tenants} tenants", 0)
            if self._tokens < 1:
                wait_ms = max(1, int((1 - self._tokens) / self.refill_per_second * 1000))
                raise self._refused("too many tenants were created recently", wait_ms)
            self._tokens -= 1
            self._existing += 1

    @staticmethod
    def _refused(message: str, retry_after_ms: int) -> QuotaExceeded:
        metrics.QUOTA_REFUSALS.labels("provisioning").inc()
        return QuotaExceeded(message, budget="provisioning", retry_after_ms=retry_after_ms)
