"""Refusals at the handshake, malformed input, and every bound of the connection rules."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from prometheus_client import REGISTRY
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from pm.auth import issue_token
from pm.config import Settings, load_settings
from pm.ws.pm_pb2 import Envelope
from tests.conftest import TEST_SECRET, LiveServer, TokenFactory, start_server

from .client import Client, payload


async def _status(url: str, *, token: str | None = None, **kwargs: object) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, additional_headers=headers, proxy=None, **kwargs):  # type: ignore[arg-type]
            pass
    return caught.value.response.status_code


def _token(**claims: object) -> str:
    base = {"sub": "alice", "tenant_id": "acme", "exp": int(time.time()) + 600}
    return jwt.encode({**base, **claims}, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        _token(exp=int(time.time()) - 100),
        jwt.encode(
            {"sub": "a", "tenant_id": "acme", "exp": int(time.time()) + 60},
            "wrong-secret-wrong-secret-wrong-secret!",
            algorithm="HS256",
        ),
        jwt.encode(
            {"sub": "a", "tenant_id": "acme", "exp": int(time.time()) + 60},
            None,  # type: ignore[arg-type]  # PyJWT's stubs leave out the key of alg "none"
            algorithm="none",
        ),
        _token(tenant_id="../etc"),
        _token(tenant_id="ACME"),
        _token(tenant_id="a" * 64),
    ],
    ids=[
        "empty",
        "garbage",
        "expired",
        "wrong-key",
        "alg-none",
        "traversal",
        "upper",
        "long-tenant",
    ],
)
async def test_bad_tokens_are_refused_before_upgrade(live_server: LiveServer, token: str) -> None:
    assert await _status(live_server.ws, token=token) == 401
    assert not (live_server.settings.data_dir / "tenants" / "etc").exists()


async def test_no_token_is_refused(live_server: LiveServer) -> None:
    assert await _status(live_server.ws) == 401


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        jwt_issuer="https://id.example",
        jwt_audience="pm",
        allowed_origins=["https://app.example"],
        ws_max_connections_per_user=2,
        ws_max_frame_bytes=4096,
        ws_rate_limit="20/2seconds",
        ws_abuse_close_after=1000,
        max_token_bytes=4096,
    )
    server = start_server(settings)
    yield server
    server.stop()


def _strict_token(**kw: object) -> str:
    args: dict[str, object] = {
        "tenant_id": "acme",
        "user_id": "alice",
        "issuer": "https://id.example",
        "audience": "pm",
    }
    args.update(kw)
    return issue_token(TEST_SECRET, **args)  # type: ignore[arg-type]


async def test_wrong_issuer_or_audience_refused(strict_server: LiveServer) -> None:
    assert (
        await _status(strict_server.ws, token=_strict_token(issuer="https://evil.example")) == 401
    )
    assert await _status(strict_server.ws, token=_strict_token(audience="other")) == 401


async def test_oversize_token_refused_before_crypto(strict_server: LiveServer) -> None:
    """Over ``max_token_bytes`` (8 KiB by default; 4 KiB here, since the HTTP parser itself
    stops header lines at 8 KiB) is refused with 401 before any signature check."""
    assert await _status(strict_server.ws, token=_strict_token(extra={"pad": "x" * 5000})) == 401


async def test_foreign_origin_refused_and_allowed_origin_served(strict_server: LiveServer) -> None:
    token = _strict_token()
    assert await _status(strict_server.ws, token=token, origin="https://evil.example") == 403
    async with connect(
        strict_server.ws,
        additional_headers={"Authorization": f"Bearer {token}"},
        origin=Origin("https://app.example"),
        proxy=None,
    ) as ws:
        await ws.send(json.dumps({"message_id": "1", "list_projects": {}}))
        assert "projects_list" in json.loads(await ws.recv())


async def test_connections_per_user_are_capped(strict_server: LiveServer) -> None:
    token = _strict_token()
    first = await Client.open(strict_server.ws, token)
    second = await Client.open(strict_server.ws, token)
    try:
        assert await _status(strict_server.ws, token=token) == 429
    finally:
        await first.close()
        await second.close()


async def test_bearer_subprotocol_is_never_echoed(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = await Client.open(live_server.ws, make_token())
    try:
        assert client.conn.subprotocol == "pm.v1.json"
    finally:
        await client.close()


async def test_unknown_tenant_refused_when_auto_provision_off(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", jwt_secret=TEST_SECRET, auto_provision=False
    )
    server = start_server(settings)
    try:
        assert await _status(server.ws, token=_token(tenant_id="newco")) == 401
        assert not (tmp_path / "data" / "tenants" / "newco").exists()
    finally:
        server.stop()


async def test_malformed_input_answers_invalid_message_and_stays_open(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    invalid = _sample("pm_ws_messages_in_total", type="invalid")
    too_deep = _sample("pm_bound_hits_total", bound="ws_json_depth")
    client = await Client.open(live_server.ws, make_token())
    try:
        for frame in (
            "{not json",
            "[" * 100 + "]" * 100,
            json.dumps({"message_id": "x"}),
            json.dumps({"message_id": "x", "subscribed": {}}),
        ):
            await client.conn.send(frame)
            answer = await client.recv()
            assert payload(answer)[1]["code"] == "INVALID_MESSAGE"
        await client.conn.send(b"\xff\xfe\x00 not utf-8")
        assert payload(await client.recv())[1]["code"] == "INVALID_MESSAGE"
        # Undecodable frames are counted as such; one of them met the nesting bound.
        assert _sample("pm_ws_messages_in_total", type="invalid") == invalid + 4
        assert _sample("pm_bound_hits_total", bound="ws_json_depth") == too_deep + 1
        response = await client.request("list_projects")
        assert payload(response)[0] == "projects_list"
    finally:
        await client.close()


async def test_garbage_protobuf_answers_invalid_message(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = await Client.open(live_server.ws, make_token(), "protobuf")
    try:
        await client.conn.send(b"\x0a\xff\xff\xff\xff\xff\xff garbage")
        assert payload(await client.recv())[1]["code"] == "INVALID_MESSAGE"
        assert payload(await client.request("list_projects"))[0] == "projects_list"
    finally:
        await client.close()


async def test_oversize_frame_closes_1009(strict_server: LiveServer) -> None:
    hits = _sample("pm_bound_hits_total", bound="ws_frame_size")
    closes = _sample("pm_ws_closes_total", code="1009")
    client = await Client.open(strict_server.ws, _strict_token())
    await client.conn.send(json.dumps({"message_id": "x", "list_projects": {}, "pad": "x" * 8000}))
    with pytest.raises(ConnectionClosed) as caught:
        await client.recv()
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1009
    await asyncio.sleep(0.2)  # the server's side of the close runs after the client saw it
    assert _sample("pm_bound_hits_total", bound="ws_frame_size") == hits + 1
    assert _sample("pm_ws_closes_total", code="1009") == closes + 1


async def test_burst_is_rate_limited_then_served_again(strict_server: LiveServer) -> None:
    client = await Client.open(strict_server.ws, _strict_token())
    try:
        for n in range(400):
            await client.send_raw({"message_id": str(n), "list_projects": {}})
        answers = [await client.recv() for _ in range(400)]
        limited = [payload(a)[1] for a in answers if payload(a)[0] == "error"]
        assert limited and all(
            e["code"] == "RATE_LIMITED" and int(e["retry_after_ms"]) > 0 for e in limited
        )
        assert 20 <= 400 - len(limited) < 100
        await asyncio.sleep(int(limited[-1]["retry_after_ms"]) / 1000 + 0.1)
        assert payload(await client.request("list_projects"))[0] == "projects_list"
    finally:
        await client.close()


async def test_token_expiry_closes_4401_unless_reauthenticated(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    short = await Client.open(live_server.ws, make_token(ttl_seconds=2))
    renewed = await Client.open(live_server.ws, make_token(ttl_seconds=2))
    try:
        answer = await renewed.request("reauthenticate", {"token": make_token(ttl_seconds=600)})
        assert payload(answer)[0] == "reauthenticated"
        other_user = await renewed.request("reauthenticate", {"token": make_token("mallory")})
        assert payload(other_user)[1]["code"] == "UNAUTHENTICATED"
        with pytest.raises(ConnectionClosed) as caught:
            await short.recv(timeout=10)
        assert caught.value.rcvd is not None and caught.value.rcvd.code == 4401
        await asyncio.sleep(1)
        assert payload(await renewed.request("list_projects"))[0] == "projects_list"
    finally:
        await short.close()
        await renewed.close()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _dropped_consumers() -> float:
    return REGISTRY.get_sample_value("pm_ws_slow_consumers_dropped_total") or 0.0


def _settings_for_slow(tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        jwt_secret=TEST_SECRET,
        ws_send_queue=32,
        ws_rate_limit="100000/second",
    )


async def test_slow_consumer_is_closed_1013_and_others_keep_up(tmp_path: Path) -> None:
    server = start_server(_settings_for_slow(tmp_path))
    token = issue_token(TEST_SECRET, tenant_id="acme", user_id="alice")
    writer = await Client.open(server.ws, token)
    fast = await Client.open(server.ws, token)
    slow = await Client.open(server.ws, token, max_queue=1)
    try:
        project = payload(
            await writer.request("create_work_item", {"item_type": "project", "title": "P"})
        )[1]["work_item"]["id"]
        for client in (fast, slow):
            await client.request("subscribe", {"project_ids": [project]})
        big = "x" * 20_000

        async def send_all() -> None:
            for n in range(1000):
                await writer.send_raw(
                    {
                        "message_id": f"m{n}",
                        "create_work_item": {
                            "item_type": "task",
                            "parent_id": project,
                            "title": f"t{n}",
                            "description": big,
                        },
                    }
                )

        async def count_created(client: Client) -> int:
            """Read until 1,000 created items arrived: answers for the writer, events for fast."""
            created = 0
            while created < 1000:
                frame = await client.recv(timeout=60)
                created += payload(frame)[0] == "work_item_created"
            return created

        async def slow_learns_1013() -> None:
            """Once the server drops `slow`, it reads again: the close frame waits behind the
            frames already buffered, and says 1013. (The wait is a guard against hanging, not
            a speed figure: how soon the drop comes is the benchmark's business.)"""
            dropped_before = _dropped_consumers()
            async with asyncio.timeout(120):
                while _dropped_consumers() == dropped_before:
                    await asyncio.sleep(0.02)
            with pytest.raises(ConnectionClosed) as caught:
                while True:
                    await slow.recv(timeout=10)
            assert caught.value.rcvd is not None and caught.value.rcvd.code == 1013

        # Real clients read while they write; only `slow` stops reading, until it is dropped.
        _, created, received, _ = await asyncio.gather(
            send_all(), count_created(writer), count_created(fast), slow_learns_1013()
        )
        assert (created, received) == (1000, 1000)
    finally:
        for client in (writer, fast, slow):
            await client.close()
        server.stop()


async def test_an_unknown_payload_is_answered_with_the_requests_message_id(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    """A newer client's payload (or a typo) gets its answer like any request: INVALID_MESSAGE
    under its own message id, naming the payload, and the connection stays open."""
    client = await Client.open(live_server.ws, make_token())
    try:
        await client.conn.send(json.dumps({"message_id": "m-1", "archive_project": {"id": "p"}}))
        answer = await client.recv()
        assert answer["message_id"] == "m-1"
        error = payload(answer)[1]
        assert error["code"] == "INVALID_MESSAGE" and "archive_project" in error["message"]
        await client.conn.send(json.dumps({"messageId": "m-2", "list_projects": {"x": 1}}))
        assert (await client.recv())["message_id"] == "m-2"
        await client.conn.send('{"message_id": "m-3", "message_id": "m-4", "list_projects": {}}')
        duplicate = await client.recv()
        assert payload(duplicate)[1]["code"] == "INVALID_MESSAGE"
        assert payload(await client.request("list_projects"))[0] == "projects_list"
    finally:
        await client.close()


async def test_an_unknown_protobuf_payload_is_answered_with_its_message_id(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    client = await Client.open(live_server.ws, make_token(), "protobuf")
    try:
        known = Envelope(message_id="p-1").SerializeToString()
        unknown_field = b"\xba\x3e\x02\x08\x01"  # field 999, length-delimited: not in pm.proto
        await client.conn.send(known + unknown_field)
        answer = await client.recv()
        assert answer["message_id"] == "p-1"
        assert payload(answer)[1]["code"] == "INVALID_MESSAGE"
    finally:
        await client.close()
