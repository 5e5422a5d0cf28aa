"""Rows of PROTOCOL.md's connection-rules table not covered elsewhere: sustained rate-limit abuse
closes 1008, the process and tenant connection caps refuse with 503 (and free their place when a
socket closes), and per-message compression is never negotiated."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pm.auth import issue_token
from pm.config import load_settings
from pm.ws import connection, hub, state
from tests.conftest import TEST_SECRET, LiveServer, start_server

from .client import Client, payload

BURST = 5
ABUSE_CLOSE_AFTER = 10


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        # One request refills every 12 s: nothing refills during a test's burst.
        ws_rate_limit=f"{BURST}/minute",
        ws_abuse_close_after=ABUSE_CLOSE_AFTER,
        ws_max_connections=3,
        ws_max_connections_per_tenant=2,
    )
    live = start_server(settings)
    yield live
    live.stop()


def _token(user_id: str, tenant_id: str = "acme") -> str:
    return issue_token(TEST_SECRET, tenant_id=tenant_id, user_id=user_id)


async def _refused_with(url: str, token: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, additional_headers=headers, proxy=None):
            pass
    response = caught.value.response
    return response.status_code, json.loads(response.body or b"{}")


async def test_a_client_that_ignores_rate_limited_is_closed_1008(server: LiveServer) -> None:
    client = await Client.open(server.ws, _token("alice"))
    for n in range(100):
        await client.send_raw({"message_id": str(n), "list_projects": {}})
    answers: list[str] = []
    with pytest.raises(ConnectionClosed) as caught:
        while True:
            frame = await client.recv()
            name, body = payload(frame)
            answers.append(name if name != "error" else body["code"])
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1008
    assert answers[:BURST] == ["projects_list"] * BURST
    refusals = answers[BURST:]
    assert set(refusals) == {"RATE_LIMITED"}
    # Closed on the refusal past the allowance, whether or not its own Error got out first.
    assert ABUSE_CLOSE_AFTER <= len(refusals) <= ABUSE_CLOSE_AFTER + 1


async def test_tenant_and_process_caps_refuse_with_503_until_a_place_frees(
    server: LiveServer,
) -> None:
    open_clients = [
        await Client.open(server.ws, _token("alice")),
        await Client.open(server.ws, _token("bob")),
    ]
    try:
        status, body = await _refused_with(server.ws, _token("carol"))
        assert status == 503 and body["error"] == {
            "code": "UNAVAILABLE",
            "message": "the tenant has too many connections",
            "field": None,
        }
        open_clients.append(await Client.open(server.ws, _token("dave", "globex")))
        status, body = await _refused_with(server.ws, _token("erin", "initech"))
        assert status == 503
        assert body["error"]["message"] == "the server has too many connections"

        await open_clients.pop(0).close()
        carol = await _open_when_a_place_frees(server.ws, _token("carol"))
        open_clients.append(carol)
        assert payload(await carol.request("list_projects"))[0] == "projects_list"
    finally:
        for client in open_clients:
            await client.close()


async def _open_when_a_place_frees(url: str, token: str) -> Client:
    """The server frees the place when it has seen the close, a moment after the client did."""
    for _ in range(100):
        try:
            return await Client.open(url, token)
        except InvalidStatus:
            await asyncio.sleep(0.05)
    raise AssertionError("the closed socket's place was never freed")


async def test_per_message_compression_is_never_negotiated(server: LiveServer) -> None:
    async with connect(
        server.ws,
        additional_headers={"Authorization": f"Bearer {_token('alice')}"},
        compression="deflate",
        proxy=None,
    ) as ws:
        assert isinstance(ws, ClientConnection)
        assert ws.protocol.extensions == []
        assert ws.response is not None
        assert "sec-websocket-extensions" not in ws.response.headers


def test_every_close_reason_fits_a_close_frame() -> None:
    """A close frame carries at most 123 bytes of reason; a longer one can't be sent, and the
    socket is then dropped without telling the client why (it happened to the restore's)."""
    reasons = [connection.DRAIN_CLOSE, hub.MOVED_CLOSE, state.TENANT_RESET_CLOSE]
    source = Path(connection.__file__).read_text(encoding="utf-8")
    reasons += [(0, r) for r in re.findall(r'close_soon\(\d+, "([^"]+)"\)', source)]
    assert len(reasons) >= 7
    for _code, reason in reasons:
        assert len(reason.encode()) <= 123, reason
