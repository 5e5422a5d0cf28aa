"""The deliverer: each active webhook has one loop in this process that reads the change feed
after the webhook's stored cursor and posts the events it covers, one at a time, in ``seq``
order, retrying each with exponential backoff and jitter until it is delivered or the webhook
is turned off. Attempts are recorded (pm.services.webhooks.record_attempts) in one write per
batch of due events, and at once on a failure, so a restart goes on from the stored cursor:
nothing acknowledged by the feed is skipped, and events are posted again only when pm stopped
between receivers' answers and their record (at most a batch, ``webhook_batch``; each
delivery carries the event's id as ``webhook-id``, so receivers can deduplicate). One write
per batch lets a webhook that fell behind catch up faster than events arrive.

One process per data folder delivers: the holder of ``webhooks.lock`` there (with ``pm serve
--workers N`` the others stand by and take over if it ends). Loops wake when the bus brings a
committed event of their tenant, and read their due events every ``webhook_poll_seconds``
anyway (a commit of another worker may not come by this process's bus); the holder looks
for webhooks made on other workers every ``webhook_rescan_seconds``. A loop never holds a
transaction while it waits for a receiver, and each waits for its own receiver only, so a slow
or hanging receiver delays neither commits nor other webhooks. At most
``webhook_concurrency`` posts are in flight in the process, each bounded by
``webhook_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from filelock import FileLock
from filelock import Timeout as LockTimeout

from pm.config import Settings
from pm.domain.events import Event
from pm.doorkit.events import event_envelope
from pm.errors import PmError
from pm.observability import metrics
from pm.services.kernel.clock import now_ms
from pm.services.kernel.runner import ServiceRunner
from pm.services.webhooks import (
    TENANT_WIDE,
    Attempt,
    Target,
    active_webhook_ids,
    due_deliveries,
    record_attempts,
)
from pm.webhooks.sender import Sent, post
from pm.webhooks.signing import signed_headers
from pm.webhooks.targets import TargetRefused, pin

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (tenant id, webhook id)


def backoff_seconds(failures: int, *, base: float, cap: float) -> float:
    """The wait after the ``failures``-th failure in a row: doubling from ``base`` up to
    ``cap``, half of it fixed and half random (spread retries of many webhooks apart)."""
    delay = float(min(cap, base * 2 ** (failures - 1)))
    return delay / 2 + random.uniform(0, delay / 2)


@dataclass
class _Loop:
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Deliverer:
    def __init__(self, services: ServiceRunner, settings: Settings) -> None:
        self.services = services
        self.settings = settings
        self._loops: dict[str, dict[str, _Loop]] = {}  # tenant id -> webhook id -> its loop
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._refresh_again: set[str] = set()  # an event came while the refresh was reading
        self._checked: set[str] = set()  # tenants whose webhooks this process has read
        self._posts = asyncio.Semaphore(settings.webhook_concurrency)
        self._client: httpx.AsyncClient | None = None
        self._resume: asyncio.Task[None] | None = None
        self._lock = FileLock(settings.data_dir / "webhooks.lock", thread_local=False)

    # -- lifecycle ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Deliver while the block runs: loops for every tenant's active webhooks (found on
        disk, in the background), and for any webhook an event reveals later."""
        timeout = self.settings.webhook_timeout_seconds
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=self.settings.webhook_concurrency),
        )
        self.services.bus.subscribe(self.on_event)
        self._resume = asyncio.create_task(self._hold_and_scan())
        try:
            yield
        finally:
            self.services.bus.unsubscribe(self.on_event)
            tasks = [self._resume, *self._refreshing.values()]
            tasks += [
                loop.task
                for loops in self._loops.values()
                for loop in loops.values()
                if loop.task is not None
            ]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loops.clear()
            metrics.WEBHOOK_LOOPS.set(0)
            await self._client.aclose()
            if self._lock.is_locked:
                self._lock.release()

    def on_event(self, tenant_id: str, event: Event) -> None:
        """Bus subscriber: a change to the tenant's webhooks refreshes its loops; any other
        event wakes them (learning the tenant's webhooks first, once). A process that does not
        hold the lock delivers nothing."""
        if not self.holds_lock:
            return
        if event.project_id == TENANT_WIDE or tenant_id not in self._checked:
            self._refresh_soon(tenant_id)
            return
        for loop in self._loops.get(tenant_id, {}).values():
            loop.wake.set()

    async def _hold_and_scan(self) -> None:
        """Hold the lock (tried every poll period, never blocking the loop), then look at every
        tenant on disk for webhooks with deliveries due; with several workers, again every
        rescan period (webhooks made on another worker come by its bus, not this one's)."""
        # a file lock has no event to wait on: try it again each poll period
        while not self._try_lock():  # noqa: ASYNC110
            await asyncio.sleep(self.settings.webhook_poll_seconds)
        while True:
            for tenant_id in self.services.tenant_ids_on_disk():
                await self._refresh(tenant_id)
            if self.settings.workers == 1:
                return
            await asyncio.sleep(self.settings.webhook_rescan_seconds)

    @property
    def holds_lock(self) -> bool:
        return self._lock.is_locked

    def _try_lock(self) -> bool:
        try:
            self._lock.acquire(timeout=0)
        except LockTimeout:
            return False
        return True

    def _refresh_soon(self, tenant_id: str) -> None:
        """Refresh the tenant's loops; asked again while a refresh is under way, refresh once
        more after it (its read may have been taken before the change that asked: a webhook
        created meanwhile would otherwise get no loop)."""
        if tenant_id in self._refreshing:
            self._refresh_again.add(tenant_id)
            return
        task = asyncio.create_task(self._refresh(tenant_id))
        self._refreshing[tenant_id] = task
        task.add_done_callback(lambda done: self._refreshed(tenant_id, done))

    def _refreshed(self, tenant_id: str, task: asyncio.Task[None]) -> None:
        self._refreshing.pop(tenant_id, None)
        again = tenant_id in self._refresh_again
        self._refresh_again.discard(tenant_id)
        if again and not task.cancelled():  # cancelled: the deliverer is stopping
            self._refresh_soon(tenant_id)

    async def _refresh(self, tenant_id: str) -> None:
        """Start a loop for each active webhook of the tenant without one; wake the others."""
        try:
            active = await self.services.background_read(tenant_id, active_webhook_ids)
        except PmError as exc:
            log.warning("webhooks not read: %s", exc.message, extra={"tenant": tenant_id})
            return
        self._checked.add(tenant_id)
        loops = self._loops.get(tenant_id, {})
        for webhook_id in active:
            loop = loops.get(webhook_id)
            if loop is None:
                loop = self._loops.setdefault(tenant_id, {})[webhook_id] = _Loop()
                loop.task = asyncio.create_task(self._run((tenant_id, webhook_id), loop))
                self._count_loops()
            loop.wake.set()
        for loop in loops.values():  # deleted or turned off ones learn it on waking
            loop.wake.set()

    # -- one webhook --------------------------------------------------------------------------

    async def _run(self, key: Key, loop: _Loop) -> None:
        try:
            await self._deliver_until_off(key, loop)
        except Exception:
            log.exception("webhook loop failed", extra={"tenant": key[0]})
        finally:
            tenant_id, webhook_id = key
            loops = self._loops.get(tenant_id, {})
            if loops.get(webhook_id) is loop:
                del loops[webhook_id]
                if not loops:
                    self._loops.pop(tenant_id, None)
                self._count_loops()

    def _count_loops(self) -> None:
        metrics.WEBHOOK_LOOPS.set(sum(len(loops) for loops in self._loops.values()))

    async def _deliver_until_off(self, key: Key, loop: _Loop) -> None:
        tenant_id, webhook_id = key
        while True:
            loop.wake.clear()  # before reading: an event committed after the read wakes us
            target = await self.services.background_read(
                tenant_id, due_deliveries, webhook_id=webhook_id, limit=self.settings.webhook_batch
            )
            if target is None:
                return  # deleted or turned off
            if not target.events:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.webhook_poll_seconds):
                        await loop.wake.wait()
                continue
            if not await self._deliver_batch(tenant_id, target):
                return

    async def _deliver_batch(self, tenant_id: str, target: Target) -> bool:
        """Post the due events in order, each until it is delivered; record the deliveries
        once at the end, a failure at once (with the deliveries before it). Whether the webhook
        is still on."""
        delivered: list[Attempt] = []
        for event in target.events:
            body = json.dumps(event_envelope(event), separators=(",", ":"))
            tries = 1
            while True:
                attempt = await self._attempt(target, event, body, tries)
                metrics.WEBHOOK_ATTEMPTS.labels(attempt.outcome).inc()
                if attempt.outcome == "delivered":
                    metrics.WEBHOOK_LAG_SECONDS.observe(max(0.0, (now_ms() - event.at) / 1000))
                    delivered.append(attempt)
                    break
                if not await self._record(tenant_id, target, [*delivered, attempt]):
                    metrics.WEBHOOKS_DISABLED.inc()
                    log.warning("webhook turned off after failures", extra={"tenant": tenant_id})
                    return False
                delivered = []
                await asyncio.sleep(
                    backoff_seconds(
                        tries,
                        base=self.settings.webhook_retry_base_seconds,
                        cap=self.settings.webhook_retry_max_seconds,
                    )
                )
                tries += 1
        return await self._record(tenant_id, target, delivered) if delivered else True

    async def _record(self, tenant_id: str, target: Target, attempts: list[Attempt]) -> bool:
        return await self.services.background_write(
            tenant_id,
            record_attempts,
            webhook_id=target.webhook_id,
            attempts=attempts,
            disable_after=self.settings.webhook_disable_after_failures,
        )

    async def _attempt(self, target: Target, event: Event, body: str, tries: int) -> Attempt:
        sent, outcome = await self._send(target, event, body)
        return Attempt(
            seq=event.seq,
            event_id=event.event_id,
            attempt=tries,
            outcome=outcome,
            status_code=sent.status_code,
            error=sent.error,
            duration_ms=round(sent.seconds * 1000),
            at=now_ms(),
        )

    async def _send(self, target: Target, event: Event, body: str) -> tuple[Sent, str]:
        started = time.perf_counter()
        settings = self.settings
        try:
            pinned = await pin(
                target.url,
                settings.webhook_allowed_networks,
                seconds=settings.webhook_timeout_seconds,
            )
        except TargetRefused as exc:
            return Sent(None, str(exc), time.perf_counter() - started), "refused"
        assert self._client is not None
        async with self._posts:
            sent = await post(
                self._client,
                pinned,
                body,
                signed_headers(target.secret, event.event_id, body),
                seconds=settings.webhook_timeout_seconds,
                max_response_bytes=settings.webhook_max_response_bytes,
            )
        metrics.WEBHOOK_ATTEMPT_SECONDS.observe(sent.seconds)
        return sent, "delivered" if sent.error is None else "failed"
