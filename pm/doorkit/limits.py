"""The per-user request budget of every door, counted per tenant and user.

One budget per user, whatever door or connection a request comes by: a user's WebSocket
connections share it (a reconnect starts nothing afresh), and a request through any door spends
from every door's window, so opening another door or another socket adds no rate. Each door
refuses by its own window (``PM_WS_RATE_LIMIT``, ``PM_REST_RATE_LIMIT``; MCP by REST's): a
request is one admission, counted once whatever windows it is measured against.

Never keyed on the IP address: many agents share an egress address, and one tenant's traffic
must not spend another's budget. The windows move (a request counts for exactly one window's
length after it was let in), so a burst at a window edge can't double the rate.

The windows are kept here, not in the ``limits`` library's in-memory storage (its rate notation
is still what the settings use): that storage starts a thread every 10 ms while requests arrive
to expire old entries, which cost about 100 us of CPU per request at a few hundred requests a
second (bench live). Here a user's timestamps are trimmed when the user is charged, and users
idle for longer than the longest window are dropped by a sweep at most once per that window.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from limits import parse

from pm.errors import RateLimited
from pm.observability import metrics


class UserRateLimiter:
    """``rates``: each door's window in the ``limits`` notation (``{"ws": "100/10seconds"}``);
    ``clock``: monotonic seconds."""

    def __init__(
        self, rates: Mapping[str, str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        items = {door: parse(rate) for door, rate in rates.items()}
        # door -> (requests let in per window, the window's length in seconds)
        self._windows = {
            door: (item.amount, float(item.get_expiry())) for door, item in items.items()
        }
        self._longest = max(seconds for _amount, seconds in self._windows.values())
        self._admitted: dict[tuple[str, str], deque[float]] = {}  # oldest first
        self._next_sweep = clock() + self._longest
        self._lock = threading.Lock()

    def charge(self, tenant_id: str, user_id: str, *, door: str) -> None:
        """Count one request in every door's window, or raise RATE_LIMITED (counting nothing)
        with the milliseconds until this door's window has room."""
        amount, seconds = self._windows[door]
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            admitted = self._admitted.setdefault((tenant_id, user_id), deque())
            _forget_before(admitted, now - self._longest)
            first_in_window = bisect.bisect_right(admitted, now - seconds)
            if len(admitted) - first_in_window >= amount:
                # Room comes back when the oldest request this window still counts leaves it.
                leaves_at = admitted[len(admitted) - amount] + seconds
                metrics.RATE_LIMITED.labels(door).inc()
                raise RateLimited(
                    "too many requests from this user; retry after retry_after_ms",
                    retry_after_ms=max(1, math.ceil((leaves_at - now) * 1000)),
                )
            admitted.append(now)

    def _sweep(self, now: float) -> None:
        """Drop the users none of whose requests counts in any window any more."""
        cutoff = now - self._longest
        idle = [
            key
            for key, admitted in self._admitted.items()
            if not admitted or admitted[-1] <= cutoff
        ]
        for key in idle:
            del self._admitted[key]
        self._next_sweep = now + self._longest


def _forget_before(admitted: deque[float], cutoff: float) -> None:
    while admitted and admitted[0] <= cutoff:
        admitted.popleft()
