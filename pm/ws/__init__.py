"""The WebSocket door: ``GET /ws``, protobuf or JSON frames of pm.proto's Envelope."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket

from pm.doorkit.asgi import pm_app
from pm.observability import metrics
from pm.wiring import Components
from pm.ws.connection import serve_socket
from pm.ws.hub import Hub
from pm.ws.limits import ConnectionCaps
from pm.ws.presence import PresenceSettings
from pm.ws.state import WsState


def install_ws(app: FastAPI, components: Components) -> WsState:
    """Route ``/ws``, feed the hub from the bus, and drain the sockets at shutdown."""
    settings = components.settings
    state = WsState(
        hub=Hub(
            components.bus,
            PresenceSettings(
                window_seconds=settings.ws_presence_window_seconds,
                frames_per_second=settings.ws_presence_frames_per_second,
            ),
        ),
        caps=ConnectionCaps(
            total=settings.ws_max_connections,
            per_tenant=settings.ws_max_connections_per_tenant,
            per_user=settings.ws_max_connections_per_user,
        ),
        limiter=pm_app(app).user_limiter,
    )
    components.services.on_tenant_reset(state.close_tenant)
    metrics.WS_CONNECTIONS_PER_TENANT_LIMIT.set(settings.ws_max_connections_per_tenant)
    stop_counting = metrics.TENANT_ACTIVITY.add_sockets(lambda: dict(state.caps.by_tenant))

    async def drain() -> None:
        stop_counting()
        await state.drain()

    components.lifecycle.on_drain(drain)

    async def websocket_endpoint(websocket: WebSocket) -> None:
        await serve_socket(websocket, components, state)

    app.add_api_websocket_route("/ws", websocket_endpoint)
    return state
