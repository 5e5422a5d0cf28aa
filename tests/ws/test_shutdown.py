"""SIGTERM on a real `pm serve` process (PROTOCOL.md, connection rules): stop accepting, finish
in-flight requests, close every socket with 1012, exit within the configured grace; and every
write that was answered is in the tenant's file afterwards."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pm.auth import issue_token
from tests.conftest import TEST_SECRET

from .client import Client, payload
from .serve import ServeProcess, pm_serve

GRACE_SECONDS = 5.0
WRITERS = 3
WINDOW = 20  # requests each writer keeps unanswered: a burst in flight at any moment
# Clients read a little slower than the server writes (a browser busy rendering), so at SIGTERM
# answers are still unread in their buffers: a server that dropped the TCP connection before the
# closing handshake would reset it, and the reset would discard them with the close frame.
READ_PAUSE_SECONDS = 0.002
ANSWERS_BEFORE_SIGTERM = 60


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    with pm_serve(
        tmp_path / "data",
        shutdown_grace_seconds=str(GRACE_SECONDS),
        ws_rate_limit="100000/second",
    ) as server:
        yield server


@dataclass
class Writer:
    """Creates tasks with ids of its own choosing, WINDOW at a time, until the socket closes."""

    client: Client
    user_id: str
    project_id: str
    answered: set[str] = field(default_factory=set)
    close_code: int | None = None

    async def run(self) -> None:
        window = asyncio.Semaphore(WINDOW)
        sender = asyncio.create_task(self._send(window))
        try:
            await self._read(window)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _send(self, window: asyncio.Semaphore) -> None:
        n = 0
        while True:
            await window.acquire()
            item_id = str(uuid.uuid4())
            body = {"id": item_id, "item_type": "task", "parent_id": self.project_id}
            body["title"] = f"task {n}"
            n += 1
            try:
                await self.client.send_raw({"message_id": item_id, "create_work_item": body})
            except ConnectionClosed:
                return

    async def _read(self, window: asyncio.Semaphore) -> None:
        """Answers to this writer's requests, told apart from the others' events by actor."""
        try:
            while True:
                frame = await self.client.recv(timeout=30)
                await asyncio.sleep(READ_PAUSE_SECONDS)
                if payload(frame)[0] == "work_item_created" and frame["actor_id"] == self.user_id:
                    self.answered.add(frame["message_id"])
                    window.release()
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd is not None else None


async def _answers_reach(writers: list[Writer], count: int) -> None:
    while sum(len(writer.answered) for writer in writers) < count:
        await asyncio.sleep(0.01)


def _stored_task_ids(data_dir: Path, tenant_id: str) -> set[str]:
    """Read the tenant's file directly, as a restarted process would find it."""
    with sqlite3.connect(data_dir / "tenants" / tenant_id / "main.db") as db:
        rows = db.execute("SELECT id FROM work_items WHERE item_type = 'task'").fetchall()
    return {row[0] for row in rows}


async def test_sigterm_finishes_in_flight_writes_closes_1012_and_exits_within_grace(
    serve: ServeProcess,
) -> None:
    users = [f"user{n}" for n in range(WRITERS)]
    tokens = [issue_token(TEST_SECRET, tenant_id="acme", user_id=u, roles=["admin"]) for u in users]
    clients = [await Client.open(serve.ws, token) for token in tokens]
    created = await clients[0].request("create_work_item", {"item_type": "project", "title": "P"})
    project_id = payload(created)[1]["work_item"]["id"]
    for client in clients:
        await client.request("subscribe", {"project_ids": [project_id]})
    writers = [Writer(c, u, project_id) for c, u in zip(clients, users, strict=True)]
    running = asyncio.gather(*(writer.run() for writer in writers))

    await asyncio.wait_for(_answers_reach(writers, ANSWERS_BEFORE_SIGTERM), 20)
    serve.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    await asyncio.wait_for(running, GRACE_SECONDS)

    assert [writer.close_code for writer in writers] == [1012] * WRITERS
    with pytest.raises((OSError, InvalidStatus)):
        async with connect(serve.ws, additional_headers={"Authorization": f"Bearer {tokens[0]}"}):
            pass
    assert await asyncio.to_thread(serve.process.wait, GRACE_SECONDS) == 0  # a clean drain
    assert time.monotonic() - signalled <= GRACE_SECONDS

    answered = set().union(*(writer.answered for writer in writers))
    stored = _stored_task_ids(serve.data_dir, "acme")
    assert len(answered) >= ANSWERS_BEFORE_SIGTERM
    assert answered <= stored, "an answered write is missing from the tenant's file"
    # In-flight requests were finished, not cut: nothing was written without being answered.
    assert stored == answered
    assert "Traceback" not in serve.log_path.read_text(encoding="utf-8")


def test_ctrl_c_stops_pm_serve_quietly(tmp_path: Path) -> None:
    with pm_serve(tmp_path / "data") as server:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(GRACE_SECONDS) == 0
    assert "Traceback" not in server.log_path.read_text(encoding="utf-8")


def test_sigterm_never_waits_on_sockets_that_never_finished_their_handshake(
    tmp_path: Path,
) -> None:
    """A silent connection, half-sent headers, a WebSocket handshake with a header line too
    long for its parser: none holds the shutdown, which drains cleanly and exits 0."""
    with pm_serve(tmp_path / "data", shutdown_grace_seconds=str(GRACE_SECONDS)) as server:
        peers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        peers[1].sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        peers[2].sendall(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: " + b"p" * 9 * 1024 + b"\r\n\r\n"
        )
        try:
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(GRACE_SECONDS * 2) == 0
        finally:
            for peer in peers:
                peer.close()
    assert "Traceback" not in server.log_path.read_text(encoding="utf-8")
