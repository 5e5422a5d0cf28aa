"""/ws allows the server's own origin (the board at `/`), those configured, and non-browser
clients (no Origin); any other browser origin is refused before the upgrade."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pm.ws.origin import origin_allowed
from tests.conftest import LiveServer, TokenFactory


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),
        ("http://127.0.0.1:8000", True),
        ("https://127.0.0.1:8000", True),
        ("HTTP://127.0.0.1:8000", True),
        ("https://app.example", True),
        ("http://127.0.0.1:8001", False),
        ("http://127.0.0.1", False),
        ("http://127.0.0.1:8000.evil.example", False),
        ("http://evil.example@127.0.0.1:8000", False),
        ("http://127.0.0.1:8000/path", False),
        ("ws://127.0.0.1:8000", False),
        ("null", False),
        ("", False),
    ],
)
def test_which_origins_are_allowed(origin: str | None, allowed: bool) -> None:
    assert origin_allowed(origin, "127.0.0.1:8000", ["https://app.example"]) is allowed


def test_no_host_means_no_own_origin() -> None:
    assert not origin_allowed("http://127.0.0.1:8000", None, [])


async def test_own_origin_served_and_a_neighbour_refused(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    protocols = ["pm.v1.json", f"pm.bearer.{make_token()}"]
    own = f"http://127.0.0.1:{live_server.port}"
    async with connect(live_server.ws, subprotocols=protocols, origin=own, proxy=None) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "pm.v1.json"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            live_server.ws,
            subprotocols=protocols,  # type: ignore[arg-type]
            origin=f"http://127.0.0.1:{live_server.port + 1}",  # type: ignore[arg-type]
            proxy=None,
        ):
            pass
    assert refused.value.response.status_code == 403
