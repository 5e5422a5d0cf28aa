"""``pm serve --workers 2`` with Redis, as operators run it: both workers serve the one port; a
worker killed with SIGKILL while it writes loses no acknowledged write, its clients reconnect to
the port and catch up exactly, and the supervisor starts another worker. Without Redis, more
than one worker refuses to start, saying why."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from tests.conftest import TEST_SECRET
from tests.daemons import RedisServer
from tests.ws.client import Client, payload
from tests.ws.serve import ServeProcess, pm_serve

from .conftest import WAIT, created_events, frames_until, make_project, open_client

FAST_RATE = "100000/second"
ATTEMPTS = 60


def worker_of(client: Client) -> int:
    return int(client.conn.response.headers["pm-worker"])  # type: ignore[union-attr]


async def client_on(server: ServeProcess, user: str, wanted: set[int]) -> Client:
    """A client whose socket a worker in ``wanted`` accepted, trying new connections until one
    lands there (the kernel hands each connection to whichever worker accepts first)."""
    for _ in range(ATTEMPTS):
        client = await open_client(server.ws, user)
        if worker_of(client) in wanted:
            return client
        await client.close()
    raise AssertionError(f"no socket landed on a worker in {wanted} in {ATTEMPTS} tries")


async def both_workers(server: ServeProcess) -> set[int]:
    """The two workers' pids, once both accept sockets (the port listens as soon as the first
    worker does; the second may still be starting)."""
    seen: set[int] = set()

    async def probe() -> None:
        while len(seen) < 2:
            client = await open_client(server.ws, "probe")
            seen.add(worker_of(client))
            await client.close()
            await asyncio.sleep(0.02)

    await asyncio.wait_for(probe(), WAIT)
    return seen


@dataclass
class Writer:
    """Creates tasks one after another, remembering every one acknowledged, until its socket
    dies under it, it is told to stop, or it wrote its bound. (Stopped by a flag, not by
    cancelling: Python 3.11's wait_for can swallow a cancellation that meets a frame.)"""

    client: Client
    project_id: str
    acked: dict[str, int] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    bound: int = 2000

    async def run(self) -> None:
        try:
            while not self.stop.is_set() and len(self.acked) < self.bound:
                item_id = str(uuid.uuid4())
                body = {"id": item_id, "item_type": "task", "parent_id": self.project_id}
                answer = await self.client.request("create_work_item", {**body, "title": "w"})
                self.acked[item_id] = int(answer["seq"])
        except (ConnectionClosed, TimeoutError):
            return


async def _until_metric(server: ServeProcess, name: str, value: float) -> None:
    async def scrape() -> float:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{server.port}/metrics")).text
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
        return sum(s.value for s in samples if s.name == name)

    async def poll() -> None:
        while await scrape() != value:
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), WAIT)


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as listing:
        return [int(child) for child in listing.read().split()]


def _feed_after(data: Path, seq: int) -> list[tuple[int, str]]:
    with sqlite3.connect(data / "tenants" / "acme" / "main.db") as db:
        rows = db.execute(
            "SELECT seq, json_extract(payload, '$.work_item.id') FROM change_feed"
            " WHERE seq > ? AND payload_name = 'work_item_created' ORDER BY seq",
            (seq,),
        )
        return [(int(s), str(i)) for s, i in rows]


def _stored(data: Path) -> set[str]:
    with sqlite3.connect(data / "tenants" / "acme" / "main.db") as db:
        return {r[0] for r in db.execute("SELECT id FROM work_items WHERE item_type = 'task'")}


async def test_a_killed_worker_loses_nothing_and_is_replaced(
    tmp_path: Path, redis: RedisServer
) -> None:
    data = tmp_path / "data"
    with pm_serve(data, "--workers", "2", redis_url=redis.url, ws_rate_limit=FAST_RATE) as server:
        pids = await both_workers(server)
        doomed, survivor = sorted(pids)
        owner = await client_on(server, "owner", {survivor})
        project_id = await make_project(owner)
        watcher = await client_on(server, "watcher", {doomed})
        subscribed = await watcher.request("subscribe", {"project_ids": [project_id]})
        floor = int(payload(subscribed)[1]["current_seq"])
        writers = [
            Writer(await client_on(server, "w-doomed", {doomed}), project_id),
            Writer(await client_on(server, "w-survivor", {survivor}), project_id),
        ]
        # Whichever worker answers a scrape, /metrics reports the whole node.
        await _until_metric(server, "pm_ws_connections", 4)
        running = [asyncio.create_task(writer.run()) for writer in writers]
        seen = await frames_until(watcher, lambda f: len(created_events(f)) >= 10)
        last_seen = created_events(seen)[-1][0]
        assert [s for s, _ in created_events(seen)] == sorted(s for s, _ in created_events(seen))

        os.kill(doomed, signal.SIGKILL)
        await asyncio.wait_for(running[0], WAIT)  # its socket died under it
        await asyncio.sleep(0.2)  # the survivor goes on writing meanwhile
        writers[1].stop.set()
        await asyncio.wait_for(running[1], WAIT)
        assert floor < last_seen

        # Every acknowledged write, by either worker, is in the file.
        acked = {**writers[0].acked, **writers[1].acked}
        assert set(acked) <= _stored(data)
        # The watcher, cut off with the worker, reconnects to the port and catches up exactly.
        back = await open_client(server.ws, "watcher")
        changes = await back.request("get_changes", {"since_seq": last_seen, "limit": 500})
        body = payload(changes)[1]
        assert not body["has_more"]
        caught = [
            (int(e["seq"]), e["work_item_created"]["work_item"]["id"])
            for e in body["events"]
            if "work_item_created" in e
        ]
        # Exactly the file's feed after its last seq: every acknowledged write among it (an
        # in-flight one may have committed without its answer reaching the client).
        assert caught == _feed_after(data, last_seen)
        assert {(seq, item) for item, seq in acked.items() if seq > last_seen} <= set(caught)

        # The supervisor started another worker in the killed one's place.
        async def replacement_serves() -> int:
            while True:
                probe = await open_client(server.ws, "probe")
                worker = worker_of(probe)
                await probe.close()
                if worker not in pids:
                    return worker
                await asyncio.sleep(0.05)

        worker = await asyncio.wait_for(replacement_serves(), WAIT)
        assert worker in children_of(server.process.pid)
        # The killed worker's sockets left the node's gauge: owner, survivor writer, back.
        await _until_metric(server, "pm_ws_connections", 3)
        for client in [owner, back, writers[1].client]:
            await client.close()


def test_more_than_one_worker_without_redis_refuses_to_start(tmp_path: Path) -> None:
    env = {**os.environ, "PM_DATA_DIR": str(tmp_path / "data"), "PM_JWT_SECRET": TEST_SECRET}
    env.pop("PM_REDIS_URL", None)
    pm = Path(sys.executable).parent / "pm"
    result = subprocess.run(
        [str(pm), "serve", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "PM_WORKERS=2 needs PM_REDIS_URL" in result.stderr
    assert not (tmp_path / "data" / "tenants").exists() or not any(
        (tmp_path / "data" / "tenants").iterdir()
    )
