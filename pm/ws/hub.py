"""The hub: which connection views which project, fan-out of committed events, presence.

Events come from the bus after commit (from this process or, with Redis, from any). Each is
encoded at most once per encoding and queued on every subscriber of its project in its tenant
except the connection that made the change (it gets the response instead). A subscription
starts "pending" until the connection has read the tenant's current seq: events committed
before that point are left to GetChanges, later ones are delivered live, so between the feed
and live events nothing is missed and nothing repeats.

The bus listens to a tenant for as long as a connection here subscribes to one of its projects
(``Bus.watch``: it is listening before the subscription reads its seq), and presence
(pm.ws.presence) is the union of every process's viewers, told in O(N) frames. When the bus
says live events of a tenant were interrupted, each of its subscribers here gets
``Error{RESYNC_REQUIRED}`` (message id empty) and catches up with GetChanges from the last seq
it saw.

A user's own stream (pm.domain.streams: their notifications, read marks and watches) is
subscribed like a project, keyed by the stream, by each socket of that user (pm.ws.connection
joins it with the first Subscribe or ListNotifications, from the seq that answer is as of), and
has no presence: so it reaches every socket of its user in the tenant, whatever projects they
view, across processes by the same bus, and no other user's socket.

An event that may take a viewer's access away (``access_change``: a member removed, a role
changed, the project deleted) holds that viewer's subscription: later events of the project
wait until the connection has checked its rights again, and are then released or, with the
subscription, dropped. Nothing published after the change reaches a socket that lost access.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Protocol

from pm.bus.base import Bus
from pm.domain.events import Event
from pm.domain.streams import is_user_stream
from pm.doorkit.events import event_envelope
from pm.errors import ResyncRequired
from pm.observability import metrics
from pm.services.members import access_change
from pm.ws.codec import Encoding, encode
from pm.ws.presence import Presence, PresenceSettings

Key = tuple[str, str]  # (tenant id, project id)


class Subscriber(Protocol):
    id: str
    tenant_id: str
    user_id: str
    encoding: Encoding

    def enqueue(self, frame: str | bytes, payload_name: str) -> None: ...

    def recheck_access(self, project_id: str) -> None:
        """Check again whether the user may view the project, then ``release`` or
        ``revoke`` it here."""

    def close_soon(self, code: int, reason: str) -> None: ...


class _Subscription:
    __slots__ = ("floor", "held", "pending")

    def __init__(self) -> None:
        self.floor: int | None = None  # seq already covered by GetChanges; None while pending
        self.held = False  # while the connection checks its access again
        self.pending: list[Event] = []


MOVED_CLOSE = (1012, "the tenant moved: reconnect and resync with GetChanges")
RESYNC_MESSAGE = "live events were interrupted: catch up with GetChanges from your last seq"


class Hub:
    def __init__(self, bus: Bus, presence: PresenceSettings | None = None) -> None:
        self._bus = bus
        self._subs: dict[Key, dict[Subscriber, _Subscription]] = defaultdict(dict)
        self._presence = Presence(bus, self._viewers, presence or PresenceSettings())
        bus.subscribe(self.publish)
        bus.listen(self)

    # -- subscriptions ----------------------------------------------------------------------

    async def begin(self, conn: Subscriber, project_ids: list[str]) -> None:
        """Register before the current seq is read, so no event can fall in between."""
        for project_id in project_ids:
            subs = self._subs[(conn.tenant_id, project_id)]
            if conn not in subs:
                subs[conn] = _Subscription()
                await self._bus.watch(conn.tenant_id)

    def confirm(self, conn: Subscriber, project_ids: list[str], current_seq: int) -> None:
        """The client now holds ``current_seq``: release later events held while pending."""
        for project_id in project_ids:
            sub = self._subs.get((conn.tenant_id, project_id), {}).get(conn)
            if sub is None or sub.floor is not None:
                continue
            sub.floor = current_seq
            # A held subscription keeps its events until its access is checked (release).
            held, sub.pending = ([], sub.pending) if sub.held else (sub.pending, [])
            for event in held:
                if event.seq > current_seq:
                    self._deliver(conn, event, event_envelope(event), {})
            if not is_user_stream(project_id):
                self._presence.joined((conn.tenant_id, project_id), conn)

    def cancel(self, conn: Subscriber, project_ids: list[str]) -> None:
        """Undo ``begin`` (the subscribe was refused)."""
        for project_id in project_ids:
            subs = self._subs.get((conn.tenant_id, project_id))
            if subs is not None and subs.get(conn) is not None and subs[conn].floor is None:
                del subs[conn]
                self._bus.unwatch(conn.tenant_id)
                if not subs:
                    del self._subs[(conn.tenant_id, project_id)]

    def unsubscribe(self, conn: Subscriber, project_ids: list[str]) -> None:
        for project_id in project_ids:
            key = (conn.tenant_id, project_id)
            subs = self._subs.get(key)
            if subs is None or subs.pop(conn, None) is None:
                continue
            self._bus.unwatch(conn.tenant_id)
            if not subs:
                del self._subs[key]
            if not is_user_stream(project_id):
                self._presence.left(key, conn)

    def drop(self, conn: Subscriber) -> None:
        """Forget a closed connection everywhere."""
        keys = [
            key for key, subs in self._subs.items() if key[0] == conn.tenant_id and conn in subs
        ]
        self.unsubscribe(conn, [project_id for _tenant, project_id in keys])

    def _viewers(self, key: Key) -> list[Subscriber]:
        """The connections whose subscription to a project is confirmed."""
        return [conn for conn, sub in self._subs.get(key, {}).items() if sub.floor is not None]

    def hold(self, conn: Subscriber, project_ids: list[str]) -> None:
        """Keep the project's events from the connection until ``release`` or ``revoke``."""
        for project_id in project_ids:
            sub = self._subs.get((conn.tenant_id, project_id), {}).get(conn)
            if sub is not None:
                sub.held = True

    def release(self, conn: Subscriber, project_ids: list[str]) -> None:
        """Access confirmed: deliver what was held, in order, and go on live."""
        for project_id in project_ids:
            sub = self._subs.get((conn.tenant_id, project_id), {}).get(conn)
            if sub is None or not sub.held:
                continue
            sub.held = False
            if sub.floor is None:
                continue  # still pending: confirm() releases it
            held, sub.pending = sub.pending, []
            for event in held:
                if event.seq > sub.floor:
                    self._deliver(conn, event, event_envelope(event), {})

    def revoke(self, conn: Subscriber, project_ids: list[str]) -> None:
        """Access lost: drop the subscriptions and what they held."""
        self.unsubscribe(conn, project_ids)

    def subscribed(self, conn: Subscriber) -> list[str]:
        """The projects the connection subscribes to (its user's stream is not one)."""
        return [
            p
            for (t, p), subs in self._subs.items()
            if t == conn.tenant_id and conn in subs and not is_user_stream(p)
        ]

    # -- what the bus tells (BusListener) ----------------------------------------------------

    def presence_changed(self, tenant_id: str, project_id: str) -> None:
        self._presence.changed((tenant_id, project_id))

    def moved(self, tenant_id: str) -> None:
        for conn in {c for (t, _p), subs in self._subs.items() if t == tenant_id for c in subs}:
            conn.close_soon(*MOVED_CLOSE)

    def resync(self, tenant_id: str) -> None:
        conns = {conn for (t, _p), subs in self._subs.items() if t == tenant_id for conn in subs}
        if not conns:
            return
        envelope = {
            "message_id": "",
            "sent_at_ms": int(time.time() * 1000),
            "error": {"code": ResyncRequired.code, "message": RESYNC_MESSAGE, "field": None},
        }
        frames: dict[Encoding, str | bytes] = {}
        for conn in conns:
            frame = frames.get(conn.encoding)
            if frame is None:
                frame = frames[conn.encoding] = encode(envelope, conn.encoding)
            conn.enqueue(frame, "error")

    # -- fan-out ----------------------------------------------------------------------------

    def publish(self, tenant_id: str, event: Event) -> None:
        """Bus subscriber: queue the event on every other viewer of its project."""
        subs = self._subs.get((tenant_id, event.project_id))
        if not subs:
            return
        envelope = event_envelope(event)
        frames: dict[Encoding, str | bytes] = {}
        delivered = 0
        change = access_change(event)
        for conn, sub in list(subs.items()):
            if sub.floor is None or sub.held:
                sub.pending.append(event)
            elif event.seq > sub.floor and conn.id != event.origin:
                self._deliver(conn, event, envelope, frames)
                delivered += 1
            if change is not None and change.concerns(conn.user_id) and not sub.held:
                sub.held = True
                conn.recheck_access(event.project_id)
        metrics.FANOUT_SIZE.observe(delivered)
        metrics.FANOUT_DELAY_SECONDS.observe(max(0.0, time.time() - event.at / 1000))

    @staticmethod
    def _deliver(
        conn: Subscriber,
        event: Event,
        envelope: dict[str, Any],
        frames: dict[Encoding, str | bytes],
    ) -> None:
        if conn.id == event.origin:
            return
        frame = frames.get(conn.encoding)
        if frame is None:
            frame = frames[conn.encoding] = encode(envelope, conn.encoding)
        conn.enqueue(frame, event.payload_name)
