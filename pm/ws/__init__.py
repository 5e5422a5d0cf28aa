"""The WebSocket door: ``GET /ws``, protobuf or JSON frames of pm.proto's Envelope."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import FastAPI

from pm.ws.connection import Connection, websocket_endpoint
from pm.ws.hub import Hub
from pm.ws.limits import ConnectionCaps, TokenBucket

if TYPE_CHECKING:
    from pm.app import Components

log = logging.getLogger(__name__)


@dataclass
class WsState:
    """The door's process-wide state: the hub, the caps, and every open connection."""

    hub: Hub
    caps: ConnectionCaps
    rate: str
    live: set[Connection] = field(default_factory=set)
    draining: bool = False
    _none_live: asyncio.Event = field(default_factory=asyncio.Event)

    def bucket_for_connection(self) -> TokenBucket:
        return TokenBucket(self.rate)

    def track(self, connection: Connection) -> None:
        """A socket accepted while draining (its handshake began before) is drained at once."""
        self.live.add(connection)
        self._none_live.clear()
        if self.draining:
            connection.drain()

    def forget(self, connection: Connection) -> None:
        self.live.discard(connection)
        if not self.live:
            self._none_live.set()

    async def drain(self) -> None:
        """Every socket answers the request it is serving and closes with 1012. The caller
        bounds the wait; the server closes whatever is left after it."""
        self.draining = True
        log.info("draining %d WebSocket connections", len(self.live))
        for connection in list(self.live):
            connection.drain()
        if self.live:
            await self._none_live.wait()


def install_ws(app: FastAPI, components: Components) -> None:
    settings = components.settings
    state = WsState(
        hub=Hub(components.bus),
        caps=ConnectionCaps(
            total=settings.ws_max_connections,
            per_tenant=settings.ws_max_connections_per_tenant,
            per_user=settings.ws_max_connections_per_user,
        ),
        rate=settings.ws_rate_limit,
    )
    app.state.ws = state
    app.add_api_websocket_route("/ws", websocket_endpoint)
