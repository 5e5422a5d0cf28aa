"""The bus interface: committed events go in after commit, subscribers are called with them.

Like encode/broadcaster's backends, it is a handful of methods; the memory backend serves one
process, a Redis backend (``PM_REDIS_URL``) will carry the same messages between nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pm.domain.events import Event

Subscriber = Callable[[str, Event], None]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, tenant_id: str, event: Event) -> None: ...

    def subscribe(self, subscriber: Subscriber) -> None: ...

    def unsubscribe(self, subscriber: Subscriber) -> None: ...
