"""The bus interface: committed events go in after commit, subscribers are called with them.

Like encode/broadcaster's backends, it is a handful of methods with a memory and a Redis
implementation behind it. Beyond events, the bus carries what a hub needs to span processes:
which tenants this process listens to (``watch``), the union of every process's viewers of a
project (``share_presence``, ``presence_of``), and word that live events were interrupted
(``BusListener.resync``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pm.domain.events import Event

Subscriber = Callable[[str, Event], None]
Users = frozenset[str]


class BusListener(Protocol):
    """What a hub hears from the bus beside the events themselves."""

    def presence_changed(self, tenant_id: str, project_id: str) -> None:
        """Another process's viewers of the project changed: ask ``share_presence`` again."""

    def resync(self, tenant_id: str) -> None:
        """Live events of the tenant may have been missed (the bus was unreachable): the
        tenant's subscribers must catch up from the change feed."""

    def moved(self, tenant_id: str) -> None:
        """The tenant's placement changed (``pm tenants move``): its sockets here reconnect,
        through the proxy, to the node that serves it now."""


class FeedReader(Protocol):
    """The change feed, read by the bus to find its place and to fill gaps."""

    async def current_seq(self, tenant_id: str) -> int: ...

    async def events_after(self, tenant_id: str, seq: int, limit: int) -> list[Event]: ...


class Bus(Protocol):
    connected: bool  # False while a Redis bus can't reach Redis (commits go on)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, tenant_id: str, event: Event) -> None: ...

    def subscribe(self, subscriber: Subscriber) -> None: ...

    def unsubscribe(self, subscriber: Subscriber) -> None: ...

    def listen(self, listener: BusListener) -> None: ...

    async def watch(self, tenant_id: str) -> None:
        """Someone here wants the tenant's events: when this returns, every event committed
        after a ``current_seq`` read from now on reaches the subscribers. Pair with unwatch."""

    def unwatch(self, tenant_id: str) -> None: ...

    def share_presence(self, tenant_id: str, project_id: str, users: Users) -> Users:
        """Announce this process's viewers of a project; returns every process's viewers."""

    def presence_of(self, tenant_id: str, project_id: str, users: Users) -> Users:
        """Every process's viewers, taking ``users`` as this process's, announcing nothing
        (the hub announces once per presence window, not once per join)."""
