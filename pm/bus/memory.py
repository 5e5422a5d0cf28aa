"""In-process bus: publish calls every subscriber in the event loop's thread, in order.

Subscribers must not block (the WebSocket hub only enqueues); one that raises is logged and the
others still get the event. One process is the whole world: watching costs nothing, presence is
this process's own viewers, and live events are never interrupted.
"""

from __future__ import annotations

import logging

from pm.bus.base import BusListener, Subscriber, Users
from pm.domain.events import Event
from pm.observability import metrics

log = logging.getLogger(__name__)


class MemoryBus:
    connected = True

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    async def start(self) -> None:
        metrics.BUS_CONNECTED.set(1)

    async def stop(self) -> None:
        self._subscribers.clear()

    async def publish(self, tenant_id: str, event: Event) -> None:
        deliver(self._subscribers, tenant_id, event)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def listen(self, listener: BusListener) -> None:
        return None

    async def watch(self, tenant_id: str) -> None:
        return None

    def unwatch(self, tenant_id: str) -> None:
        return None

    def share_presence(self, tenant_id: str, project_id: str, users: Users) -> Users:
        return users

    def presence_of(self, tenant_id: str, project_id: str, users: Users) -> Users:
        return users


def deliver(subscribers: list[Subscriber], tenant_id: str, event: Event) -> None:
    """Call every subscriber; one that raises is logged and the others still get the event."""
    for subscriber in list(subscribers):
        try:
            subscriber(tenant_id, event)
        except Exception:
            log.exception("bus subscriber failed", extra={"tenant": tenant_id})
