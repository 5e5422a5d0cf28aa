"""The server every pm process runs: ``pm serve``, ``pm demo``, the tests and the bench alike.

``uvicorn_config`` is the one uvicorn configuration (pm's bounded protocols, frame bound,
heartbeat, keep-alive, header size, no per-message compression, pm's own logging);
``DrainingServer`` adds pm's shutdown to uvicorn's. Listeners close first, then the doors
drain (``Lifecycle.drain``: in-flight requests answered, sockets closed with 1012), then
uvicorn's own shutdown waits for HTTP requests with what is left of the grace. A tenth of the
grace is kept for the lifespan's teardown (``Components.stop``: sweepers, bus, tenant files).
A socket whose handshake never finished holds nothing to drain: it is closed at once, never
waited for. A signal that started a shutdown is handled by it: a clean drain exits 0, one cut
short by the grace exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
import time
from collections.abc import Generator

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from pm.app import create_app
from pm.config import Settings
from pm.observability.logging import configure_logging
from pm.protocols import HANDSHAKE_LINES, PmH11Protocol, PmWebSocketProtocol
from pm.wiring import Components, build_components


def uvicorn_config(app: object, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]  # uvicorn types its app as one of its ASGI protocols
        host=settings.host,
        port=settings.port,
        # uvloop's event loop (C): less CPU per frame, per socket write and per thread
        # hand-off than asyncio's pure-Python loop.
        loop="uvloop",
        http=PmH11Protocol.bound_to(settings),
        ws=PmWebSocketProtocol,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        ws_per_message_deflate=False,  # a compressed bomb can't inflate memory
        ws_max_size=settings.ws_max_frame_bytes,
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        log_config=None,
        access_log=False,
    )


class DrainingServer(uvicorn.Server):
    """uvicorn's own shutdown closes every WebSocket with 1012 at once, dropping the answer of a
    request still being served, and ends the app's lifespan only after the sockets are gone; so
    pm's shutdown (the module docstring) runs before it."""

    TEARDOWN_SHARE = 0.1
    POLL_SECONDS = 0.02

    def __init__(self, components: Components) -> None:
        super().__init__(uvicorn_config(create_app(components), components.settings))
        self.components = components
        self.clean = True  # False once the grace cut the shutdown short
        logging.getLogger("uvicorn.error").addFilter(HANDSHAKE_LINES)

    @classmethod
    def for_settings(cls, settings: Settings) -> DrainingServer:
        return cls(build_components(settings))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        settings = self.components.settings
        lifecycle = self.components.lifecycle
        # Not ready, still serving: the load balancer takes this instance out of rotation
        # before its listeners close (the grace starts after this).
        lifecycle.stop_being_ready()
        await asyncio.sleep(settings.shutdown_unready_seconds)
        deadline = time.monotonic() + settings.shutdown_grace_seconds * (1 - self.TEARDOWN_SHARE)
        for server in self.servers:
            server.close()  # stop accepting before anything else
        self._close_unfinished_handshakes()
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                await lifecycle.drain()
                await self._closing_handshakes()
        except TimeoutError:
            self.clean = False
        # uvicorn's wait takes whole seconds; rounding down keeps it inside the grace.
        self.config.timeout_graceful_shutdown = max(0, int(deadline - time.monotonic()))
        await super().shutdown(sockets)
        if self.server_state.tasks:
            self.clean = False  # uvicorn cancelled what the grace could not wait for

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """uvicorn raises the signal again once it has shut down, so the process ends by it
        (exit 143 for SIGTERM, even after a clean drain); pm's shutdown is the signal's
        handling, and its outcome is the exit code (run_server)."""
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    def _close_unfinished_handshakes(self) -> None:
        for connection in list(self.server_state.connections):
            if (
                isinstance(connection, WebSocketsSansIOProtocol)
                and not connection.handshake_complete
            ):
                connection.transport.close()

    async def _closing_handshakes(self) -> None:
        """Every drained socket has sent its close frame; wait for each client's reply before
        uvicorn drops the TCP connection. Dropped earlier, with requests the client pipelined
        still unread on the server, the kernel answers with a reset, and a reset discards the
        last answers and the close frame still unread in the client's buffer."""
        while self._websockets_open():  # noqa: ASYNC110 (uvicorn has no event for it: poll)
            await asyncio.sleep(self.POLL_SECONDS)

    def _websockets_open(self) -> bool:
        return any(
            isinstance(c, WebSocketsSansIOProtocol) and c.handshake_complete
            for c in self.server_state.connections
        )


def run_server(settings: Settings) -> None:
    """Serve until stopped, as ``uvicorn.run`` does: Ctrl-C is a normal stop, and a server that
    never started exits with uvicorn's startup-failure code."""
    configure_logging(settings.log_level)
    server = DrainingServer.for_settings(settings)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
    if not server.clean:
        sys.exit(1)
