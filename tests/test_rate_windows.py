"""The per-user budget's moving windows (pm.doorkit.limits), on a clock the test moves."""

from __future__ import annotations

import pytest

from pm.doorkit.limits import UserRateLimiter
from pm.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock) -> UserRateLimiter:
    return UserRateLimiter({"ws": "3/10seconds", "rest": "5/minute"}, clock=clock)


def refusal(limits: UserRateLimiter, door: str, user: str = "u") -> RateLimited:
    with pytest.raises(RateLimited) as refused:
        limits.charge("t", user, door=door)
    return refused.value


def test_a_window_lets_its_amount_in_then_refuses_until_the_oldest_leaves_it() -> None:
    clock = Clock()
    limits = limiter(clock)
    for step in range(3):
        clock.now = 1000.0 + step
        limits.charge("t", "u", door="ws")
    clock.now = 1002.5
    assert refusal(limits, "ws").retry_after_ms == 7500  # the one at 1000 leaves at 1010
    clock.now = 1009.9
    refusal(limits, "ws")  # a refusal counts nothing: the window is still the same three
    clock.now = 1010.0
    limits.charge("t", "u", door="ws")
    refusal(limits, "ws")  # the moving window: 1001, 1002, 1010 count until 1011


def test_every_door_spends_from_every_window_and_refuses_by_its_own() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(3):
        limits.charge("t", "u", door="rest")
    refused = refusal(limits, "ws")  # three REST requests filled the WebSocket window
    assert refused.retry_after_ms == 10_000
    clock.now += 10
    limits.charge("t", "u", door="rest")
    limits.charge("t", "u", door="rest")
    refusal(limits, "rest")  # five in the minute
    limits.charge("t", "u", door="ws")  # the WebSocket window has two of them only
    clock.now += 50  # the first three leave the minute
    limits.charge("t", "u", door="rest")


def test_each_tenant_and_user_has_a_budget_of_its_own() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(3):
        limits.charge("t", "u", door="ws")
    refusal(limits, "ws")
    limits.charge("t", "other", door="ws")
    limits.charge("other-tenant", "u", door="ws")


def test_users_idle_past_the_longest_window_are_forgotten() -> None:
    clock = Clock()
    limits = limiter(clock)
    for n in range(100):
        limits.charge("t", f"user-{n}", door="ws")
    clock.now += 30
    limits.charge("t", "late", door="ws")
    assert len(limits._admitted) == 101  # the memory the budgets hold
    clock.now += 31  # the first hundred left the minute; the sweep runs once per minute
    limits.charge("t", "late", door="ws")
    assert set(limits._admitted) == {("t", "late")}
