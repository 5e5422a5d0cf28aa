"""A benchmark server in its own process, so the load generator's CPU and memory are not counted
as the server's: ``python -m bench.door_server KIND PORT SETTINGS_JSON``.

KIND ``pm`` runs the server ``pm serve`` runs (pm.server) with the given settings, logging as
``pm serve`` does (one JSON line per HTTP request, to stderr, which the parent keeps in a
temporary file and shows only if the server fails to start). KIND ``bare`` serves the
baselines with the same uvicorn options: ``/ws`` echoes each frame, ``/fanout`` relays each frame
to every other socket through a bounded queue and a send task per socket (the shape of pm's hub,
minus everything pm adds), and ``/constant`` returns a constant dict.

The parent side is ``DoorServer``: start, wait until it answers, read its memory, stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from bench.common import free_port

FANOUT_QUEUE = 256
Outboxes = dict[WebSocket, "asyncio.Queue[str | bytes]"]
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


# -- the child ------------------------------------------------------------------------------------


def bare_app() -> FastAPI:
    """The floor each door is measured against: the same framework and server, no pm."""
    app = FastAPI()
    sockets: Outboxes = {}

    @app.get("/constant")
    async def constant() -> dict[str, object]:
        return {"id": "constant", "title": "A constant answer", "version": 1}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/ws")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=_json_subprotocol(websocket))
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await _send_back(websocket, message)

    @app.websocket("/fanout")
    async def fanout(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=_json_subprotocol(websocket))
        queue: asyncio.Queue[str | bytes] = asyncio.Queue(FANOUT_QUEUE)
        sockets[websocket] = queue
        sender = asyncio.create_task(_send_loop(websocket, queue))
        try:
            await _relay(websocket, sockets)
        finally:
            del sockets[websocket]
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    return app


def _json_subprotocol(websocket: WebSocket) -> str | None:
    offered = websocket.headers.get("sec-websocket-protocol", "")
    return "pm.v1.json" if "pm.v1.json" in offered else None


async def _send_back(websocket: WebSocket, message: Mapping[str, Any]) -> None:
    if message.get("bytes") is not None:
        await websocket.send_bytes(message["bytes"])
    else:
        await websocket.send_text(message.get("text") or "")


async def _send_loop(websocket: WebSocket, queue: asyncio.Queue[str | bytes]) -> None:
    while True:
        frame = await queue.get()
        if isinstance(frame, bytes):
            await websocket.send_bytes(frame)
        else:
            await websocket.send_text(frame)


async def _relay(websocket: WebSocket, sockets: Outboxes) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            frame = message.get("bytes") or message.get("text") or ""
            for other, queue in list(sockets.items()):
                if other is not websocket and not queue.full():
                    queue.put_nowait(frame)


def main(argv: list[str]) -> None:
    """Serve as ``pm serve`` does (pm.server: the same uvicorn options and server class), or
    the bare baselines with the same uvicorn options and pm's default bounds."""
    from pm.config import Settings, load_settings
    from pm.observability.logging import configure_logging
    from pm.server import DrainingServer, uvicorn_config

    kind, port, overrides = argv[0], int(argv[1]), json.loads(argv[2])
    if kind == "pm":
        settings = load_settings(**{**overrides, "host": "127.0.0.1", "port": port})
        configure_logging(settings.log_level)
        DrainingServer.for_settings(settings).run()
    else:
        settings = Settings(host="127.0.0.1", port=port)
        uvicorn.Server(uvicorn_config(bare_app(), settings)).run()


# -- the parent -----------------------------------------------------------------------------------


@dataclass
class DoorServer:
    """A server subprocess on 127.0.0.1; its stderr goes to ``log``."""

    kind: str
    process: subprocess.Popen[bytes]
    port: int
    log: Any

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, path: str = "/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def status_bytes(self, field: str) -> int:
        """A memory figure (``VmRSS``, ``VmHWM``) of the server process, from /proc."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        """User and system CPU the server process has used so far, from /proc."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_peak(self) -> int:
        """Reset the process's peak RSS (VmHWM) to its current RSS, and return that."""
        with open(f"/proc/{self.pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return self.status_bytes("VmRSS")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def failure(self, why: str) -> RuntimeError:
        self.log.seek(0)
        tail = self.log.read()[-2000:].decode(errors="replace")
        return RuntimeError(f"the benchmark server {why}; its stderr ends with:\n{tail}")


def _wait_until_listening(server: DoorServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise server.failure(f"exited with {server.process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), 1):
            return
        time.sleep(0.05)
    raise server.failure("did not start")


@contextlib.contextmanager
def door_server(kind: str, **overrides: Any) -> Iterator[DoorServer]:
    """Run ``kind`` (``pm`` or ``bare``) in a subprocess for the duration of the block."""
    port = free_port()
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    command = [sys.executable, "-m", "bench.door_server", kind, str(port), json.dumps(settings)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=Path(__file__).resolve().parent.parent, stdout=log, stderr=log
        )
        server = DoorServer(kind, process, port, log)
        try:
            _wait_until_listening(server)
            yield server
        finally:
            server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
