"""In-process bus: publish calls every subscriber in the event loop's thread, in order.

Subscribers must not block (the WebSocket hub only enqueues); one that raises is logged and the
others still get the event.
"""

from __future__ import annotations

import logging

from pm.bus.base import Subscriber
from pm.domain.events import Event

log = logging.getLogger(__name__)


class MemoryBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subscribers.clear()

    async def publish(self, tenant_id: str, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(tenant_id, event)
            except Exception:
                log.exception("bus subscriber failed", extra={"tenant": tenant_id})

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)
