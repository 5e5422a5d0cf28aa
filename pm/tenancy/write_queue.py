"""A tenant's queue of write transactions, drained by one worker thread at a time.

Writes wait in a deque (waiting costs no thread). The write that finds no drainer running hands
one to the shared worker pool, and that drainer runs the queued writes back to back, passing each
result to its caller's event loop. Consecutive writes so cost no event-loop round trip between
them: with an ``asyncio.Lock`` handing the writer from one waiter to the next, the writer sat idle
for a third of the time under load while the loop woke the next waiter and submitted its work.
After a batch the drainer queues itself behind other tenants' work in the pool, so one busy tenant
can't keep a pool thread to itself.

A write that waited ``timeout`` seconds without starting is withdrawn and answers UNAVAILABLE; a
caller that goes away (cancelled) withdraws its write if it has not started. A write that started
runs to its end: its transaction commits or rolls back whole, whoever is still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pm.errors import Unavailable
from pm.observability import metrics

T = TypeVar("T")
DRAIN_BATCH = 64  # writes one drainer runs before it yields its pool thread


@dataclass(eq=False)
class _Job:
    run: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    queued_at: float


class WriteQueue:
    def __init__(self, executor: Executor, *, timeout: float) -> None:
        self._executor = executor
        self._timeout = timeout
        self._jobs: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._draining = False

    async def run(self, fn: Callable[[], T]) -> T:
        """Queue ``fn`` (a whole transaction) and wait for its result or its exception."""
        loop = asyncio.get_running_loop()
        job = _Job(fn, loop.create_future(), loop, time.perf_counter())
        with self._lock:
            self._jobs.append(job)
            start, self._draining = not self._draining, True
        if start:
            self._start_drainer()
        try:
            return cast(T, await asyncio.wait_for(asyncio.shield(job.future), self._timeout))
        except TimeoutError:
            if self._withdraw(job):
                metrics.DB_WRITE_TIMEOUTS.inc()
                raise Unavailable("the tenant is busy; retry shortly") from None
            return cast(T, await job.future)  # it started: its outcome is still this caller's
        except asyncio.CancelledError:
            if not self._withdraw(job):  # it runs on; nobody will read a failure it ends with
                job.future.add_done_callback(_consume)
            raise

    def _withdraw(self, job: _Job) -> bool:
        """Take a job out of the queue if it has not started; True if it was withdrawn."""
        with self._lock:
            try:
                self._jobs.remove(job)
            except ValueError:
                return False
            return True

    def _start_drainer(self) -> None:
        try:
            self._executor.submit(self._drain)
        except RuntimeError:  # the pool is shut down: nothing queued will run
            self._fail_all(Unavailable("the server is shutting down"))

    def _drain(self) -> None:
        """Run queued writes in this worker thread until the queue is empty or a batch is done."""
        for _ in range(DRAIN_BATCH):
            with self._lock:
                if not self._jobs:
                    self._draining = False
                    return
                job = self._jobs.popleft()
            metrics.DB_WRITE_WAIT_SECONDS.observe(time.perf_counter() - job.queued_at)
            try:
                result, error = job.run(), None
            except BaseException as exc:  # the caller raises it in its own task
                result, error = None, exc
            _settle_soon(job, result, error)
        self._start_drainer()

    def _fail_all(self, error: BaseException) -> None:
        with self._lock:
            jobs, self._jobs = list(self._jobs), deque()
            self._draining = False
        for job in jobs:
            _settle_soon(job, None, error)


def _settle_soon(job: _Job, result: Any, error: BaseException | None) -> None:
    # A closed loop raises RuntimeError: its caller is gone, nobody is waiting any more.
    with contextlib.suppress(RuntimeError):
        job.loop.call_soon_threadsafe(_settle, job.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
