"""Time in the units the domain stores: int64 Unix milliseconds, UTC."""

from __future__ import annotations

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
