"""The WebSocket door: ``GET /ws``, protobuf or JSON frames of pm.proto's Envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI

from pm.ws.connection import websocket_endpoint
from pm.ws.hub import Hub
from pm.ws.limits import ConnectionCaps, TokenBucket

if TYPE_CHECKING:
    from pm.app import Components


@dataclass
class WsState:
    hub: Hub
    caps: ConnectionCaps
    rate: str

    def bucket_for_connection(self) -> TokenBucket:
        return TokenBucket(self.rate)


def install_ws(app: FastAPI, components: Components) -> None:
    settings = components.settings
    state = WsState(
        hub=Hub(),
        caps=ConnectionCaps(
            total=settings.ws_max_connections,
            per_tenant=settings.ws_max_connections_per_tenant,
            per_user=settings.ws_max_connections_per_user,
        ),
        rate=settings.ws_rate_limit,
    )
    app.state.ws = state
    components.bus.subscribe(state.hub.publish)
    app.add_api_websocket_route("/ws", websocket_endpoint)
