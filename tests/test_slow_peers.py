"""Peers that say nothing, say it slowly, or say too much, over raw TCP sockets to a real server
(README, connection rules): each is answered with a status or closed within its time, and none
can hold a place others need."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pm.config import load_settings
from tests.conftest import TEST_SECRET, LiveServer, TokenFactory, start_server

REQUEST_TIMEOUT = 0.5
FIRST_FRAME_TIMEOUT = 0.5
CAP = 12
WAIT = 10.0  # generous: what a test waits for something that should happen within a second


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        http_request_timeout_seconds=REQUEST_TIMEOUT,
        ws_first_frame_timeout_seconds=FIRST_FRAME_TIMEOUT,
        ws_idle_timeout_seconds=FIRST_FRAME_TIMEOUT,
        max_connections=CAP,
    )
    live = start_server(settings)
    yield live
    live.stop()


def _open(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (or WAIT passes: then it hangs,
    and the test fails on what it got)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    raise AssertionError(f"the server kept the connection open; it sent {b''.join(chunks)!r}")


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    with _open(server) as sock:
        assert _read_all(sock) == b""


def test_half_sent_headers_are_answered_408_and_closed(server: LiveServer) -> None:
    with _open(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        answer = _read_all(sock)
    assert _status(answer) == 408
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "INVALID_MESSAGE"


def test_a_websocket_handshake_stopped_mid_headers_is_closed(server: LiveServer) -> None:
    with _open(server) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        )
        assert _status(_read_all(sock)) == 408


def test_a_keep_alive_connection_dripping_its_next_request_is_closed(server: LiveServer) -> None:
    with _open(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert _status(first) == 200
        for byte in b"GET /health HTTP/1.1\r\n":  # a byte at a time, each within the timeout
            sock.sendall(bytes([byte]))
            time.sleep(REQUEST_TIMEOUT / 8)
            if sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT) if _readable(sock) else b"":
                break
        assert _status(_read_all(sock)) == 408


def _readable(sock: socket.socket) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


@pytest.mark.parametrize("path", ["/ws", "/api/v1/projects"])
def test_a_header_line_over_8_kib_is_answered_with_a_status(
    server: LiveServer, make_token: TokenFactory, path: str
) -> None:
    huge = "x" * 9 * 1024
    upgrade = (
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    )
    with _open(server) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: x\r\n{upgrade if path == '/ws' else ''}"
            f"Authorization: Bearer {huge}\r\n\r\n".encode()
        )
        status = _status(_read_all(sock))
    # The WebSocket parser bounds a line (431); REST answers the over-long token 401.
    assert status in (401, 431) and (status == 431) == (path == "/ws")


def test_headers_over_the_bound_are_answered_431(server: LiveServer) -> None:
    with _open(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        for n in range(40):  # 40 lines of 1 KiB: past the 16 KiB bound
            sock.sendall(f"X-Filler-{n}: {'y' * 1000}\r\n".encode())
        answer = _read_all(sock)
    assert _status(answer) == 431


async def test_a_socket_that_sends_no_first_frame_is_closed_4408(
    server: LiveServer, make_token: TokenFactory
) -> None:
    headers = {"Authorization": f"Bearer {make_token()}"}
    async with connect(server.ws, additional_headers=headers, proxy=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


async def test_a_socket_with_no_subscription_that_goes_quiet_is_closed_4408(
    server: LiveServer, make_token: TokenFactory
) -> None:
    headers = {"Authorization": f"Bearer {make_token()}"}
    async with connect(server.ws, additional_headers=headers, proxy=None) as ws:
        await ws.send(json.dumps({"message_id": "1", "list_projects": {}}))
        assert "projects_list" in str(await asyncio.wait_for(ws.recv(), WAIT))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


def test_at_the_cap_the_longest_waiting_connection_makes_room(server: LiveServer) -> None:
    """Idle sockets fill the process's cap; a newcomer's request is still served (the oldest
    idle socket is closed for it), and the count never passes the cap."""
    idle = [_open(server) for _ in range(CAP + 5)]
    try:
        with httpx.Client(base_url=server.http) as http:
            for _ in range(5):
                assert http.get("/health", headers={"Connection": "close"}).status_code == 200
        closed = sum(1 for sock in idle if _readable(sock) and not sock.recv(1))
        assert closed >= 5
        assert len(server.server.server_state.connections) <= CAP
    finally:
        for sock in idle:
            sock.close()


def test_at_the_cap_with_no_one_waiting_a_newcomer_gets_503(server: LiveServer) -> None:
    busy = []
    try:
        for _ in range(CAP):  # each mid-request: a request has begun, nothing to close
            sock = _open(server)
            sock.sendall(b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            busy.append(sock)
        time.sleep(0.1)
        with _open(server) as newcomer:
            answer = _read_all(newcomer)
        assert _status(answer) == 503
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "UNAVAILABLE"
    finally:
        for sock in busy:
            sock.close()
