"""The Redis bus (``PM_REDIS_URL``): events and presence between processes and nodes.

    commit ─ publish ─┬─ this process's subscribers, at once (through the tenant's sequence)
                      └─ outbox ─ one publisher task ─ PUBLISH pm:tenant:<id> (pipelined)
    SUBSCRIBE pm:tenant:<id> (tenants with a viewer here) ─ listener task ─ the tenant's sequence

Pub/sub per tenant: a process listens only to tenants it has subscribers for. Every event goes
through a ``TenantSequence`` (pm.bus.ordering): once each, in seq order, gaps filled from the
change feed. Presence: each process announces its viewers of a project on the tenant's channel
and in a hash (``pm:presence:<tenant>:<project>``, one field per process) that a process starting
to listen reads; announcements expire unless renewed (pm.bus.presence).

Outages. redis-py's own retry would reconnect and resubscribe silently, and every message
published in between would be lost without a word; so retries are off and this module handles a
lost connection itself: commits go on (publishing never blocks a command: the outbox is bounded,
the oldest event is dropped when it is full and named to the others as a gap once Redis is
back), ``connected`` is False (``/ready`` says so, ``pm_bus_connected`` is 0), and once the
connection is back every tenant listened to is re-read from the feed and its subscribers are
told to resync (``BusListener.resync``): their GetChanges is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline, PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pm.bus.base import BusListener, FeedReader, Subscriber, Users
from pm.bus.memory import deliver
from pm.bus.ordering import TenantSequence
from pm.bus.pins import CONTROL_CHANNEL, Pin, load_pins
from pm.bus.presence import Key, PresenceBook
from pm.domain.events import Event
from pm.observability import metrics

log = logging.getLogger(__name__)

TENANT_CHANNEL = "pm:tenant:"
PRESENCE_KEY = "pm:presence:"
LOST = (RedisError, OSError)


@dataclass(frozen=True)
class RedisBusSettings:
    url: str
    gap_wait_seconds: float = 0.25
    max_held_events: int = 10_000
    outbox: int = 10_000
    feed_page: int = 500
    presence_ttl_seconds: float = 30.0
    reconnect_seconds: float = 0.5
    timeout_seconds: float = 2.0


def tenant_channel(tenant_id: str) -> str:
    return TENANT_CHANNEL + tenant_id


def presence_key(key: Key) -> str:
    return f"{PRESENCE_KEY}{key[0]}:{key[1]}"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class _Outgoing:
    """One message for Redis: an event (``seq`` set) or a presence announcement."""

    tenant_id: str
    body: bytes
    seq: int | None = None
    presence: tuple[Key, str] | None = None  # (project key, field value) for the hash

    def add_to(self, pipe: Pipeline, process_id: str, ttl_ms: int) -> None:
        if self.presence is not None:
            key, value = self.presence
            if value:
                pipe.hset(presence_key(key), process_id, value)
                pipe.pexpire(presence_key(key), ttl_ms)
            else:
                pipe.hdel(presence_key(key), process_id)
        pipe.publish(tenant_channel(self.tenant_id), self.body)


def _event_message(process_id: str, event: Event) -> bytes:
    body = {
        "p": process_id,
        "k": "event",
        "seq": event.seq,
        "id": event.event_id,
        "project": event.project_id,
        "name": event.payload_name,
        "payload": event.payload,
        "actor": event.actor_id,
        "at": event.at,
        "origin": event.origin,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _event_from(body: dict[str, Any]) -> Event:
    return Event(
        seq=int(body["seq"]),
        event_id=str(body["id"]),
        project_id=str(body["project"]),
        payload_name=str(body["name"]),
        payload=body["payload"],
        actor_id=str(body["actor"]),
        at=int(body["at"]),
        origin=body.get("origin"),
    )


class RedisBus:
    def __init__(self, settings: RedisBusSettings, feed: FeedReader, pin: Pin) -> None:
        """``pin`` applies a tenant's pin (pm.bus.pins) to this process's placement."""
        self.settings = settings
        self.feed = feed
        self._pin = pin
        self.process_id = uuid.uuid4().hex[:16]
        self.connected = False
        self._redis = Redis.from_url(
            settings.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=settings.timeout_seconds,
            socket_timeout=settings.timeout_seconds,
        )
        self._subscribers: list[Subscriber] = []
        self._listeners: list[BusListener] = []
        self._watchers: dict[str, int] = {}
        self._sequences: dict[str, TenantSequence] = {}
        self._placed: dict[str, asyncio.Future[None]] = {}  # baseline known, per tenant
        self._rebase: set[str] = set()  # tenants to re-read and resync once listened to again
        self._presence = PresenceBook()
        self._loading: set[Key] = set()  # projects whose announcements are being read
        self._outbox: deque[_Outgoing] = deque()
        self._dropped: dict[str, int] = {}  # tenant -> highest seq dropped from a full outbox
        self._outbox_ready: asyncio.Event | None = None
        self._pubsub: PubSub | None = None
        self._ever_connected = False
        self._down_logged = False
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        metrics.BUS_CONNECTED.set(0)
        self._outbox_ready = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen_loop()),
            asyncio.create_task(self._publish_loop()),
            asyncio.create_task(self._presence_loop()),
        ]

    async def stop(self) -> None:
        """Withdraw this process's viewers (best effort), then close."""
        for key in list(self._presence.local):
            self.share_presence(key[0], key[1], frozenset())
        with contextlib.suppress(*LOST, TimeoutError):
            async with asyncio.timeout(self.settings.timeout_seconds):
                await self._flush_outbox()
        for task in [*self._tasks, *self._background]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._background, return_exceptions=True)
        for sequence in self._sequences.values():
            sequence.close()
        self._subscribers.clear()
        with contextlib.suppress(*LOST):
            await self._redis.aclose()

    # -- the Bus interface --------------------------------------------------------------------

    async def publish(self, tenant_id: str, event: Event) -> None:
        """Deliver here at once and queue for Redis; never waits for Redis."""
        sequence = self._sequences.get(tenant_id)
        if sequence is not None:
            sequence.offer(event)
        self._queue(_Outgoing(tenant_id, _event_message(self.process_id, event), seq=event.seq))

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def listen(self, listener: BusListener) -> None:
        self._listeners.append(listener)

    async def watch(self, tenant_id: str) -> None:
        self._watchers[tenant_id] = self._watchers.get(tenant_id, 0) + 1
        placed = self._placed.get(tenant_id)
        if placed is None:
            placed = self._placed[tenant_id] = asyncio.get_running_loop().create_future()
            self._sequences[tenant_id] = self._new_sequence(tenant_id)
            self._spawn(self._place(tenant_id))
        try:
            async with asyncio.timeout(self.settings.timeout_seconds * 2):
                await asyncio.shield(placed)
        except TimeoutError:
            # Redis did not confirm in time: start from the feed now and resync once it does.
            await self._place_from_feed(tenant_id)

    def unwatch(self, tenant_id: str) -> None:
        count = self._watchers.get(tenant_id, 0) - 1
        if count > 0:
            self._watchers[tenant_id] = count
            return
        self._watchers.pop(tenant_id, None)
        self._placed.pop(tenant_id, None)
        self._rebase.discard(tenant_id)
        sequence = self._sequences.pop(tenant_id, None)
        if sequence is not None:
            sequence.close()
        self._presence.forget_tenant(tenant_id)
        if self._pubsub is not None:
            self._spawn(self._unsubscribe(self._pubsub, tenant_id))

    def share_presence(self, tenant_id: str, project_id: str, users: Users) -> Users:
        key = (tenant_id, project_id)
        self._load_if_new(key, users)
        if self._presence.set_local(key, users):
            self._announce(key)
        return self._presence.union(key, now_ms())

    def presence_of(self, tenant_id: str, project_id: str, users: Users) -> Users:
        key = (tenant_id, project_id)
        self._load_if_new(key, users)
        return users | self._presence.others(key, now_ms())

    def _load_if_new(self, key: Key, users: Users) -> None:
        """The first viewer of a project here: read what other processes said of it."""
        new = key not in self._presence.local and key not in self._presence.remote
        if new and users and self.connected and key not in self._loading:
            self._loading.add(key)
            self._spawn(self._load_presence(key))

    # -- events -------------------------------------------------------------------------------

    def _new_sequence(self, tenant_id: str) -> TenantSequence:
        async def read_feed(after: int) -> list[Event]:
            return await self.feed.events_after(tenant_id, after, self.settings.feed_page)

        return TenantSequence(
            lambda event: deliver(self._subscribers, tenant_id, event),
            read_feed,
            lambda: self._resync(tenant_id),
            gap_wait=self.settings.gap_wait_seconds,
            max_held=self.settings.max_held_events,
        )

    async def _place(self, tenant_id: str) -> None:
        """Listen to the tenant's channel; its baseline is read once Redis confirms (see
        _on_subscribed), so every later commit arrives on the channel or is in the feed."""
        pubsub = self._pubsub
        if pubsub is None or not self.connected:
            await self._place_from_feed(tenant_id)
            return
        try:
            await pubsub.subscribe(tenant_channel(tenant_id))
        except LOST:
            await self._place_from_feed(tenant_id)

    async def _place_from_feed(self, tenant_id: str) -> None:
        """No confirmed subscription: live events of this process still flow, and the tenant is
        re-read and resynced once the channel is listened to again."""
        placed = self._placed.get(tenant_id)
        if placed is None or placed.done():
            return
        self._rebase.add(tenant_id)
        await self._set_baseline(tenant_id)

    async def _set_baseline(self, tenant_id: str) -> None:
        placed = self._placed.get(tenant_id)
        try:
            baseline = await self.feed.current_seq(tenant_id)
        except Exception as exc:
            log.exception("bus: the change feed of a tenant could not be read")
            if placed is not None and not placed.done():
                placed.set_exception(exc)
            return
        sequence = self._sequences.get(tenant_id)
        if sequence is not None:
            sequence.start_at(baseline)
        if placed is not None and not placed.done():
            placed.set_result(None)

    async def _on_subscribed(self, channel: str) -> None:
        if channel == CONTROL_CHANNEL:
            self._came_up()
            for tenant_id, node in (await load_pins(self._redis)).items():
                self._pin(tenant_id, node)
            return
        tenant_id = channel.removeprefix(TENANT_CHANNEL)
        placed = self._placed.get(tenant_id)
        if placed is None:
            return  # no longer watched
        if tenant_id in self._rebase:
            self._rebase.discard(tenant_id)
            await self._set_baseline(tenant_id)
            self._resync(tenant_id)
        elif not placed.done():
            await self._set_baseline(tenant_id)
        for key in [k for k in self._presence.local if k[0] == tenant_id]:
            self._announce(key)
            self._spawn(self._load_presence(key))

    def _on_message(self, body: dict[str, Any]) -> None:
        tenant_id = str(body.get("t", ""))
        kind = body.get("k")
        if body.get("p") == self.process_id:
            return  # our own, delivered here when it was published
        sequence = self._sequences.get(tenant_id)
        if kind == "event" and sequence is not None:
            sequence.offer(_event_from(body))
        elif kind == "gap" and sequence is not None:
            sequence.committed_up_to(int(body["seq"]))
        elif kind == "presence":
            key = (tenant_id, str(body["project"]))
            users = frozenset(str(u) for u in body["users"])
            if self._presence.set_remote(key, str(body["p"]), users, int(body["until"]), now_ms()):
                self._presence_changed(key)

    def _on_control(self, body: dict[str, Any]) -> None:
        if body.get("k") == "placement":
            tenant_id, node = str(body["tenant"]), body.get("node")
            self._pin(tenant_id, None if node is None else str(node))
            for listener in list(self._listeners):
                try:
                    listener.moved(tenant_id)
                except Exception:
                    log.exception("bus listener failed", extra={"tenant": tenant_id})

    def _resync(self, tenant_id: str) -> None:
        metrics.BUS_RESYNCS.inc()
        for listener in list(self._listeners):
            try:
                listener.resync(tenant_id)
            except Exception:
                log.exception("bus listener failed", extra={"tenant": tenant_id})

    def _presence_changed(self, key: Key) -> None:
        for listener in list(self._listeners):
            try:
                listener.presence_changed(*key)
            except Exception:
                log.exception("bus listener failed", extra={"tenant": key[0]})

    # -- the connection -----------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                channels = [tenant_channel(t) for t in self._sequences]
                await pubsub.subscribe(CONTROL_CHANNEL, *channels)
                self._pubsub = pubsub
                await self._receive(pubsub)
            except LOST as exc:
                self._went_down(exc)
            finally:
                self._pubsub = None
                with contextlib.suppress(*LOST):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(self.settings.reconnect_seconds)

    async def _receive(self, pubsub: PubSub) -> None:
        """Messages until the connection fails. A Redis that stops answering without closing
        the connection (a hung host) is noticed too: quiet for a while, it is pinged, and
        silent past three timeouts it counts as lost."""
        timeout = self.settings.timeout_seconds
        heard = time.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=timeout / 2)
            now = time.monotonic()
            if message is not None:
                heard, pinged = now, False
                try:
                    await self._handle(message)
                except LOST:
                    raise
                except Exception:
                    log.exception("bus: a message could not be handled; ignored")
            elif now - heard > timeout * 3:
                raise ConnectionError(f"no answer from Redis for {timeout * 3:.0f} s")
            elif now - heard > timeout and not pinged:
                await pubsub.ping()
                pinged = True

    async def _handle(self, message: dict[str, Any]) -> None:
        channel = message["channel"] or b""
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        if message["type"] == "subscribe":
            await self._on_subscribed(channel)
        elif message["type"] == "pong":
            return
        elif message["type"] == "message":
            try:
                body = json.loads(message["data"])
            except ValueError:
                log.warning("bus: a message on %s is not JSON; ignored", channel)
                return
            if channel == CONTROL_CHANNEL:
                self._on_control(body)
                return
            body["t"] = channel.removeprefix(TENANT_CHANNEL)
            self._on_message(body)

    def _came_up(self) -> None:
        if self.connected:
            return
        if self._ever_connected:
            log.warning("bus: Redis is reachable again; resyncing %d tenants", len(self._rebase))
        self.connected = self._ever_connected = True
        self._down_logged = False
        metrics.BUS_CONNECTED.set(1)
        self._wake_publisher()

    def _went_down(self, exc: BaseException) -> None:
        """Every tenant listened to is re-read and resynced once its channel is back."""
        self._rebase |= set(self._sequences)
        if self.connected:
            metrics.BUS_OUTAGES.inc()
            log.warning("bus: lost Redis (%s); commits go on, live events stay local", exc)
        elif not self._down_logged:
            log.warning("bus: can't reach Redis (%s); commits go on, events stay local", exc)
        self._down_logged = True
        self.connected = False
        metrics.BUS_CONNECTED.set(0)

    async def _unsubscribe(self, pubsub: PubSub, tenant_id: str) -> None:
        if tenant_id in self._sequences:
            return  # watched again meanwhile
        with contextlib.suppress(*LOST):
            await pubsub.unsubscribe(tenant_channel(tenant_id))

    # -- publishing -----------------------------------------------------------------------------

    def _queue(self, message: _Outgoing) -> None:
        if len(self._outbox) >= self.settings.outbox:
            self._drop_oldest()
        self._outbox.append(message)
        metrics.BUS_OUTBOX.set(len(self._outbox))
        self._wake_publisher()

    def _drop_oldest(self) -> None:
        dropped = self._outbox.popleft()
        metrics.BOUND_HITS.labels("bus_outbox").inc()
        if dropped.seq is not None:
            metrics.BUS_PUBLISH_DROPPED.inc()
            previous = self._dropped.get(dropped.tenant_id, 0)
            self._dropped[dropped.tenant_id] = max(previous, dropped.seq)

    def _wake_publisher(self) -> None:
        if self._outbox_ready is not None:
            self._outbox_ready.set()

    async def _publish_loop(self) -> None:
        assert self._outbox_ready is not None
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            try:
                await self._flush_outbox()
            except LOST:
                await asyncio.sleep(self.settings.reconnect_seconds)
                self._wake_publisher()

    async def _flush_outbox(self) -> None:
        """Send what is queued, in order, in pipelined batches; on failure the batch goes back
        to the front of the outbox (bounded as ever)."""
        ttl_ms = int(self.settings.presence_ttl_seconds * 1000)
        while self._outbox or self._dropped:
            batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 500))]
            gaps, self._dropped = self._dropped, {}
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for tenant_id, seq in gaps.items():
                        notice = {"p": self.process_id, "k": "gap", "seq": seq}
                        pipe.publish(tenant_channel(tenant_id), json.dumps(notice))
                    for message in batch:
                        message.add_to(pipe, self.process_id, ttl_ms)
                    await pipe.execute()
            except LOST:
                for tenant_id, seq in gaps.items():
                    self._dropped[tenant_id] = max(self._dropped.get(tenant_id, 0), seq)
                self._outbox.extendleft(reversed(batch))
                while len(self._outbox) > self.settings.outbox:
                    self._drop_oldest()
                raise
            finally:
                metrics.BUS_OUTBOX.set(len(self._outbox))

    # -- presence -----------------------------------------------------------------------------

    def _announce(self, key: Key) -> None:
        users = sorted(self._presence.local.get(key, ()))
        until = now_ms() + int(self.settings.presence_ttl_seconds * 1000)
        body: dict[str, Any] = {"p": self.process_id, "k": "presence", "project": key[1]}
        body.update(users=users, until=until if users else 0)
        field = json.dumps({"users": users, "until": until}) if users else ""
        self._queue(_Outgoing(key[0], json.dumps(body).encode(), presence=(key, field)))

    async def _load_presence(self, key: Key) -> None:
        """What the other processes said about a project before this one listened."""
        try:
            await self._read_presence(key)
        finally:
            self._loading.discard(key)

    async def _read_presence(self, key: Key) -> None:
        with contextlib.suppress(*LOST):
            entries = await self._redis.hgetall(presence_key(key))
            changed = False
            for process, raw in entries.items():
                process_id = process.decode() if isinstance(process, bytes) else str(process)
                if process_id == self.process_id:
                    continue
                try:
                    entry = json.loads(raw)
                    users = frozenset(str(u) for u in entry["users"])
                    until = int(entry["until"])
                except (ValueError, KeyError, TypeError):
                    continue
                changed |= self._presence.set_remote(key, process_id, users, until, now_ms())
            if changed:
                self._presence_changed(key)

    async def _presence_loop(self) -> None:
        """Renew this process's announcements; let others' lapse when they stop renewing."""
        while True:
            await asyncio.sleep(self.settings.presence_ttl_seconds / 3)
            for key in list(self._presence.local):
                self._announce(key)
            for key in self._presence.expire(now_ms()):
                self._presence_changed(key)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
