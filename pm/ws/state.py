"""The WebSocket door's process-wide state: the hub, the caps, and every open connection."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from pm.doorkit.limits import UserRateLimiter
from pm.ws.hub import Hub
from pm.ws.limits import ConnectionCaps

log = logging.getLogger(__name__)


class Drainable(Protocol):
    tenant_id: str

    def drain(self) -> None: ...

    def close_soon(self, code: int, reason: str) -> None: ...


# The tenant was reset here (a restore, an operator's evict). A close reason holds at most 123
# bytes; GetChanges then says RESYNC_REQUIRED for a seq from before a restore.
TENANT_RESET_CLOSE = (1012, "tenant data replaced: reconnect and resync with GetChanges")


@dataclass
class WsState:
    """Shared by every connection of one app."""

    hub: Hub
    caps: ConnectionCaps
    limiter: UserRateLimiter  # the per-user budget every door shares
    live: set[Drainable] = field(default_factory=set)
    draining: bool = False
    _none_live: asyncio.Event = field(default_factory=asyncio.Event)

    def track(self, connection: Drainable) -> None:
        """A socket accepted while draining (its handshake began before) is drained at once."""
        self.live.add(connection)
        self._none_live.clear()
        if self.draining:
            connection.drain()

    def forget(self, connection: Drainable) -> None:
        self.live.discard(connection)
        if not self.live:
            self._none_live.set()

    def close_tenant(self, tenant_id: str) -> None:
        """The tenant was reset in this process: every socket of it reconnects and resyncs."""
        for connection in [c for c in self.live if c.tenant_id == tenant_id]:
            connection.close_soon(*TENANT_RESET_CLOSE)

    async def drain(self) -> None:
        """Every socket answers the request it is serving and closes with 1012. The caller
        bounds the wait; the server closes whatever is left after it."""
        self.draining = True
        log.info("draining %d WebSocket connections", len(self.live))
        for connection in list(self.live):
            connection.drain()
        if self.live:
            await self._none_live.wait()
