"""A tenant's queue of write transactions, drained by one worker thread at a time.

Writes wait in a deque (waiting costs no thread). The write that finds no drainer running hands
one to the shared worker pool, and that drainer runs the queued writes back to back, passing each
result to its caller's event loop. Consecutive writes so cost no event-loop round trip between
them: with an ``asyncio.Lock`` handing the writer from one waiter to the next, the writer sat idle
for a third of the time under load while the loop woke the next waiter and submitted its work.
After a batch the drainer queues itself behind other tenants' work in the pool, so one busy tenant
can't keep a pool thread to itself.

Group commit: when several writes are queued, the drainer takes up to ``batch_max`` of them at
once and hands them to ``run_many`` (the tenant runs them in one transaction, a savepoint each:
one that fails is rolled back alone and answered alone). Every write is answered only after the
transaction that holds it committed, so an answer is never ahead of the data.

Answers go back to the event loop through its inbox (``LoopInbox``): whatever the drainers of
every tenant settle while the loop has not yet run the inbox rides on one wake-up, so a batch
(and writes settled at once by several drainers) costs one thread-to-loop hand-off, not one per
write (py-spy: ``call_soon_threadsafe`` and the GIL it waits for were a quarter of a command).

A write that waited ``timeout`` seconds without starting is withdrawn and answers UNAVAILABLE; a
caller that goes away (cancelled) withdraws its write if it has not started. A write that started
runs to its end: its transaction commits or rolls back whole, whoever is still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar

from pm.errors import Unavailable
from pm.observability import metrics

T = TypeVar("T")
Step = Any  # what one write hands the runners (the tenant's: a function of a session)
Settled = tuple[Any, BaseException | None]  # a write's result, or the exception it raised
RunOne = Callable[[Step], Any]  # one write, in a transaction of its own
RunMany = Callable[[list[Step]], list[Settled]]  # several, in one transaction
Posted = tuple["asyncio.Future[Any]", Any, BaseException | None]  # a future and its outcome
DRAIN_BATCH = 64  # transactions one drainer runs before it yields its pool thread


class LoopInbox:
    """Results posted by worker threads for one event loop, delivered on it in one callback:
    the first post after a delivery wakes the loop, the others ride along."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._posted: list[Posted] = []

    def post(self, settled: list[Posted]) -> None:
        with self._lock:
            wake = not self._posted
            self._posted.extend(settled)
        if wake:
            # A closed loop raises RuntimeError: its callers are gone, nobody is waiting.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            posted, self._posted = self._posted, []
        for future, result, error in posted:
            _settle(future, result, error)


_INBOXES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopInbox] = (
    weakref.WeakKeyDictionary()
)
_INBOXES_LOCK = threading.Lock()


def inbox_of(loop: asyncio.AbstractEventLoop) -> LoopInbox:
    with _INBOXES_LOCK:
        inbox = _INBOXES.get(loop)
        if inbox is None:
            inbox = _INBOXES[loop] = LoopInbox(loop)
        return inbox


@dataclass(eq=False)
class _Job:
    step: Step
    future: asyncio.Future[Any]
    inbox: LoopInbox
    queued_at: float


class WriteQueue:
    def __init__(
        self,
        executor: Executor,
        run_one: RunOne,
        run_many: RunMany,
        *,
        timeout: float,
        batch_max: int = 1,
    ) -> None:
        self._executor = executor
        self._run_one = run_one
        self._run_many = run_many
        self._timeout = timeout
        self._batch_max = batch_max
        self._jobs: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._draining = False

    async def run(self, step: Step) -> Any:
        """Queue one write and wait for its result or its exception."""
        loop = asyncio.get_running_loop()
        job = _Job(step, loop.create_future(), inbox_of(loop), time.perf_counter())
        with self._lock:
            self._jobs.append(job)
            start, self._draining = not self._draining, True
        if start:
            self._start_drainer()
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), self._timeout)
        except TimeoutError:
            if self._withdraw(job):
                metrics.DB_WRITE_TIMEOUTS.inc()
                raise Unavailable("the tenant is busy; retry shortly") from None
            return await job.future  # it started: its outcome is still this caller's
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
        """Run queued writes in this worker thread until the queue is empty or enough
        transactions ran; several queued writes go in one transaction."""
        for _ in range(DRAIN_BATCH):
            with self._lock:
                if not self._jobs:
                    self._draining = False
                    return
                count = min(len(self._jobs), self._batch_max)
                jobs = [self._jobs.popleft() for _ in range(count)]
            now = time.perf_counter()
            for job in jobs:
                metrics.DB_WRITE_WAIT_SECONDS.observe(now - job.queued_at)
            metrics.DB_WRITE_BATCH_SIZE.observe(len(jobs))
            _post(jobs, self._settled(jobs))
        self._start_drainer()

    def _settled(self, jobs: list[_Job]) -> list[Settled]:
        if len(jobs) > 1:
            return self._run_many([job.step for job in jobs])
        try:
            return [(self._run_one(jobs[0].step), None)]
        except BaseException as exc:  # the caller raises it in its own task
            return [(None, exc)]

    def _fail_all(self, error: BaseException) -> None:
        with self._lock:
            jobs, self._jobs = list(self._jobs), deque()
            self._draining = False
        _post(jobs, [(None, error)] * len(jobs))


def _post(jobs: list[_Job], settled: list[Settled]) -> None:
    """Each job's outcome to its loop's inbox, one post per loop."""
    by_inbox: dict[LoopInbox, list[Posted]] = {}
    for job, (result, error) in zip(jobs, settled, strict=True):
        by_inbox.setdefault(job.inbox, []).append((job.future, result, error))
    for inbox, outcomes in by_inbox.items():
        inbox.post(outcomes)


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
