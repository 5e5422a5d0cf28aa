"""The per-user request budget of the request/response doors, counted per tenant and user.

Never keyed on the IP address: many agents share an egress address, and one tenant's traffic
must not spend another's budget. slowapi's limiter counts over a moving window, so a burst at a
window edge can't double the rate.
"""

from __future__ import annotations

import math
import time

from limits import parse
from slowapi import Limiter

from pm.errors import RateLimited
from pm.observability import metrics


class UserRateLimiter:
    """``rate`` requests per tenant and user, in the ``limits`` notation (``600/minute``)."""

    def __init__(self, rate: str) -> None:
        self._rate = parse(rate)
        self._windows = Limiter(key_func=lambda: "", strategy="moving-window").limiter

    def charge(self, tenant_id: str, user_id: str, *, door: str) -> None:
        """Count one request, or raise RATE_LIMITED with the seconds until one is allowed."""
        if self._windows.hit(self._rate, "user", tenant_id, user_id):
            return
        reset_at, _remaining = self._windows.get_window_stats(
            self._rate, "user", tenant_id, user_id
        )
        metrics.RATE_LIMITED.labels(door).inc()
        wait_ms = max(1000, math.ceil((reset_at - time.time()) * 1000))
        raise RateLimited(
            "too many requests; retry after the Retry-After seconds", retry_after_ms=wait_ms
        )
