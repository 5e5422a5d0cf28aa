"""The per-user request budget of every door, counted per tenant and user.

One budget per user, whatever door or connection a request comes by: a user's WebSocket
connections share it (a reconnect starts nothing afresh), and a request through any door spends
from every door's window, so opening another door or another socket adds no rate. Each door
refuses by its own window (``PM_WS_RATE_LIMIT``, ``PM_REST_RATE_LIMIT``).

Never keyed on the IP address: many agents share an egress address, and one tenant's traffic
must not spend another's budget. slowapi's limiter counts over a moving window, so a burst at a
window edge can't double the rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse
from slowapi import Limiter

from pm.errors import RateLimited
from pm.observability import metrics


class UserRateLimiter:
    """``rates``: each door's window in the ``limits`` notation (``{"ws": "100/10seconds"}``)."""

    def __init__(self, rates: Mapping[str, str]) -> None:
        self._rates: dict[str, RateLimitItem] = {door: parse(rate) for door, rate in rates.items()}
        self._windows = Limiter(key_func=lambda: "", strategy="moving-window").limiter

    def charge(self, tenant_id: str, user_id: str, *, door: str) -> None:
        """Count one request in every door's window, or raise RATE_LIMITED (counting nothing)
        with the milliseconds until this door's window has room."""
        own = self._rates[door]
        if not self._windows.test(own, "user", tenant_id, user_id):
            reset_at, _remaining = self._windows.get_window_stats(own, "user", tenant_id, user_id)
            metrics.RATE_LIMITED.labels(door).inc()
            wait_ms = max(1, math.ceil((reset_at - time.time()) * 1000))
            raise RateLimited(
                "too many requests from this user; retry after retry_after_ms",
                retry_after_ms=wait_ms,
            )
        for rate in self._rates.values():
            self._windows.hit(rate, "user", tenant_id, user_id)
