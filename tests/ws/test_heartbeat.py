"""Heartbeat (PROTOCOL.md, connection rules): the server pings every ``ws_ping_interval_seconds``
and closes a socket whose pong has not come within ``ws_ping_timeout_seconds``.

A websockets client answers pings by itself, so the silent peer is a raw TCP socket that
completes the handshake and then never writes again, the way a vanished laptop behaves.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from pm.auth import issue_token
from tests.conftest import TEST_SECRET

from .client import Client, payload
from .serve import ServeProcess, pm_serve

PING, CLOSE = 0x9, 0x8
CLOSED_WITHIN_SECONDS = 10.0  # generous: interval 0.2 s + timeout 0.5 s


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    with pm_serve(
        tmp_path / "data", ws_ping_interval_seconds="0.2", ws_ping_timeout_seconds="0.5"
    ) as server:
        yield server


async def _silent_peer(port: int, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Complete the WebSocket handshake by hand; from then on, never send a byte."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /ws HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """(opcode, payload) of one unmasked server frame; None once the server closed the TCP."""
    try:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        return first & 0x0F, await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


async def _frames_until_eof(reader: asyncio.StreamReader) -> list[tuple[int, bytes]]:
    frames = []
    while (frame := await _read_frame(reader)) is not None:
        frames.append(frame)
    return frames


async def test_a_peer_that_never_answers_pings_is_closed(serve: ServeProcess) -> None:
    token = issue_token(TEST_SECRET, tenant_id="acme", user_id="alice")
    answering = await Client.open(serve.ws, token)
    reader, writer = await _silent_peer(serve.port, token)
    try:
        frames = await asyncio.wait_for(_frames_until_eof(reader), CLOSED_WITHIN_SECONDS)
        opcodes = [opcode for opcode, _ in frames]
        assert PING in opcodes, "the server never pinged"
        assert opcodes[-1] == CLOSE, "the server dropped the socket without a close frame"
        (code,) = struct.unpack("!H", frames[-1][1][:2])
        assert code == 1011  # uvicorn's code for a keepalive timeout
        # The peer that answers its pings, open just as long, is still served.
        assert payload(await answering.request("list_projects"))[0] == "projects_list"
    finally:
        writer.close()
        await answering.close()
