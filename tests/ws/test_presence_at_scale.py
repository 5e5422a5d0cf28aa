"""Presence in O(N): 500 distinct users join one project and half of them leave. Each viewer is
told the full set once and then only changes, so what one viewer receives grows with N, not
N squared (a full list per join would send viewer 0 about 500 lists of 250 names: ~2 MB), and
every viewer's view ends equal to the truth."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer, TokenFactory

from .client import Client, payload

VIEWERS = 500
AT_ONCE = 50
BYTES_PER_VIEWER_PER_N = 200  # a bound for one viewer's presence bytes, per viewer of the project
WAIT = 120.0


@dataclass
class View:
    """One viewer's picture of who is viewing, from nothing but its presence frames."""

    users: set[str] = field(default_factory=set)
    frames: int = 0
    bytes: int = 0

    def apply(self, text: str) -> None:
        body = json.loads(text).get("presence_changed")
        if body is None:
            return
        self.frames += 1
        self.bytes += len(text.encode())
        if body.get("users"):
            self.users = set(body["users"])
        self.users |= set(body.get("joined", []))
        self.users -= set(body.get("left", []))


async def _read(client: Client, view: View) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for frame in client.conn:
            view.apply(frame if isinstance(frame, str) else frame.decode())


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.05)


async def test_500_viewers_get_o_of_n_presence_and_an_exact_view(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    owner = await Client.open(live_server.ws, make_token("owner", roles=("admin",)))
    created = await owner.request("create_work_item", {"item_type": "project", "title": "Big"})
    project = payload(created)[1]["work_item"]["id"]
    users = [f"viewer-{n:03d}" for n in range(VIEWERS)]
    gate = asyncio.Semaphore(AT_ONCE)
    views = {user: View() for user in users}
    clients: dict[str, Client] = {}
    readers: list[asyncio.Task[None]] = []

    async def join(user: str) -> None:
        async with gate:
            client = await Client.open(live_server.ws, make_token(user, roles=("admin",)))
            reply = await client.request("subscribe", {"project_ids": [project]})
            assert payload(reply)[0] == "subscribed"
            for frame in client.events:  # what arrived before the answer
                views[user].apply(json.dumps(frame))
            clients[user] = client
            readers.append(asyncio.create_task(_read(client, views[user])))

    try:
        await asyncio.gather(*(join(user) for user in users))
        everyone = set(users)
        await _until(lambda: all(view.users == everyone for view in views.values()))

        leaving, staying = users[: VIEWERS // 2], users[VIEWERS // 2 :]
        await asyncio.gather(*(clients.pop(user).close() for user in leaving))
        await _until(lambda: all(views[user].users == set(staying) for user in staying))

        for user in staying:
            view = views[user]
            # One full set, then at most one frame per change (500 joins, 250 leaves)...
            assert view.frames <= 1 + VIEWERS + len(leaving), (user, view.frames)
            # ...and each other viewer named about once per join or leave: linear in N.
            assert view.bytes <= BYTES_PER_VIEWER_PER_N * VIEWERS, (user, view.bytes)
    finally:
        await asyncio.gather(*(client.close() for client in clients.values()))
        await asyncio.gather(*readers, return_exceptions=True)
        await owner.close()
