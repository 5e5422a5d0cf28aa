"""The loop's inbox of write results: outcomes posted from worker threads, however many and
from however many threads, each reach their own future on the loop (results as results,
failures as exceptions); posts made while the loop is busy ride on one wake-up; a future whose
caller went away is skipped; a closed loop's inbox takes posts without raising."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextvars import Context
from typing import Any, TypeVarTuple

import pytest

from pm.tenancy.write_queue import LoopInbox, inbox_of

Ts = TypeVarTuple("Ts")


async def test_outcomes_from_many_threads_reach_their_own_futures() -> None:
    loop = asyncio.get_running_loop()
    inbox = inbox_of(loop)
    assert inbox_of(loop) is inbox  # one inbox per loop
    futures = [[loop.create_future() for _ in range(50)] for _ in range(4)]

    def post(batch: list[asyncio.Future[Any]], thread: int) -> None:
        for n, future in enumerate(batch):
            error = ValueError(f"{thread}-{n}") if n % 7 == 0 else None
            inbox.post([(future, None if error else (thread, n), error)])

    threads = [threading.Thread(target=post, args=(b, t)) for t, b in enumerate(futures)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for t, batch in enumerate(futures):
        for n, future in enumerate(batch):
            if n % 7 == 0:
                with pytest.raises(ValueError, match=f"^{t}-{n}$"):
                    await asyncio.wait_for(future, 10)
            else:
                assert await asyncio.wait_for(future, 10) == (t, n)


class CountingLoop(asyncio.SelectorEventLoop):
    """A real event loop that counts the wake-ups other threads ask of it."""

    wakeups = 0

    def call_soon_threadsafe(
        self, callback: Callable[[*Ts], object], *args: *Ts, context: Context | None = None
    ) -> asyncio.Handle:
        self.wakeups += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


def test_posts_while_the_loop_is_busy_ride_on_one_wakeup() -> None:
    loop = CountingLoop()

    async def scenario() -> list[int]:
        inbox = LoopInbox(loop)
        futures = [loop.create_future() for _ in range(3)]
        posters = [
            threading.Thread(target=inbox.post, args=([(future, n, None)],))
            for n, future in enumerate(futures)
        ]
        for poster in posters:  # the loop runs nothing meanwhile: it is busy in this test
            poster.start()
            poster.join()
        return [await asyncio.wait_for(f, 10) for f in futures]

    try:
        assert loop.run_until_complete(scenario()) == [0, 1, 2]
    finally:
        loop.close()
    assert loop.wakeups == 1


async def test_a_cancelled_caller_is_skipped() -> None:
    loop = asyncio.get_running_loop()
    inbox = LoopInbox(loop)
    gone, waiting = loop.create_future(), loop.create_future()
    gone.cancel()
    thread = threading.Thread(target=inbox.post, args=([(gone, 1, None), (waiting, 2, None)],))
    thread.start()
    thread.join()
    assert await asyncio.wait_for(waiting, 10) == 2


def test_a_closed_loop_takes_posts_without_raising() -> None:
    loop = asyncio.new_event_loop()
    future: asyncio.Future[Any] = loop.create_future()
    loop.close()
    LoopInbox(loop).post([(future, 1, None)])
    assert not future.done()
