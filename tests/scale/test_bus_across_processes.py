"""The Redis bus between two real pm serve processes on one data directory (what
``--workers 2`` runs, with each process on its own port so every socket's process is known):
events reach every subscriber once and in seq order whichever process committed them, presence
is the union, a client that reconnects to the other process catches up exactly, and a Redis
outage degrades without losing anything."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.daemons import RedisServer
from tests.ws.client import Client, payload
from tests.ws.serve import ServeProcess, pm_serve

from .conftest import WAIT, create_task, created_events, frames_until, make_project, open_client

SUBSCRIBERS = 20
WRITES_PER_WRITER = 15
FAST_RATE = "100000/second"


def _http(server: ServeProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


def _users(frames: list[dict[str, Any]]) -> set[str]:
    """The viewers the presence frames name: the full set a joiner is told, then the changes."""
    users: set[str] = set()
    for body in [payload(f)[1] for f in frames if payload(f)[0] == "presence_changed"]:
        users = set(body.get("users") or users) | set(body.get("joined", []))
        users -= set(body.get("left", []))
    return users


async def _write(client: Client, project_id: str, label: str) -> list[tuple[str, int]]:
    return [await create_task(client, project_id, f"{label} {n}") for n in range(WRITES_PER_WRITER)]


async def test_events_presence_and_reconnect_across_two_processes(
    tmp_path: Path, redis: RedisServer
) -> None:
    data = tmp_path / "data"
    with (
        pm_serve(data, redis_url=redis.url, ws_rate_limit=FAST_RATE) as a,
        pm_serve(data, redis_url=redis.url, ws_rate_limit=FAST_RATE) as b,
    ):
        owner = await open_client(a.ws, "owner")
        project_id = await make_project(owner)
        servers = [a, b]
        subscribers = [
            await open_client(servers[n % 2].ws, f"viewer{n}") for n in range(SUBSCRIBERS)
        ]
        for client in subscribers:
            await client.request("subscribe", {"project_ids": [project_id]})
        viewers = {f"viewer{n}" for n in range(SUBSCRIBERS)}
        # Presence is the union of both processes' viewers, as seen from either process.
        for client in subscribers:
            await frames_until(client, lambda frames: _users(frames) == viewers)

        # A writer on each process, at once: their publishes race to Redis.
        writer_a = await open_client(a.ws, "writer-a")
        writer_b = await open_client(b.ws, "writer-b")
        leaver = subscribers[0]  # on a; it will come back on b
        acks_a, acks_b = await asyncio.gather(
            _write(writer_a, project_id, "from a"), _write(writer_b, project_id, "from b")
        )
        acks = sorted([(seq, item) for item, seq in acks_a + acks_b])
        expected = len(acks)
        for client in subscribers[1:]:
            frames = await frames_until(client, lambda f: len(created_events(f)) >= expected)
            # Every event once, in seq order, whichever process committed it.
            assert created_events(frames) == acks

        # The leaver saw some of it, left, and comes back on the other process.
        frames = await frames_until(leaver, lambda f: len(created_events(f)) >= 5)
        last_seen = created_events(frames)[4][0]
        await leaver.close()
        back = await open_client(b.ws, "viewer0")
        changes = await back.request("get_changes", {"since_seq": last_seen})
        missed = [
            (int(e["seq"]), e["work_item_created"]["work_item"]["id"])
            for e in payload(changes)[1]["events"]
            if "work_item_created" in e
        ]
        assert missed == [(seq, item) for seq, item in acks if seq > last_seen]
        for client in [owner, writer_a, writer_b, back, *subscribers[1:]]:
            await client.close()


def _gauge(server: ServeProcess, name: str) -> float:
    text = httpx.get(f"{_http(server)}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} not exported")


async def _ready(server: ServeProcess) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{_http(server)}/ready", timeout=10)


async def _until(condition: Any, timeout: float = WAIT) -> None:
    async def poll() -> None:
        while not await asyncio.to_thread(condition):
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def test_a_redis_outage_degrades_then_resyncs_without_losing_anything(
    tmp_path: Path, redis: RedisServer
) -> None:
    data = tmp_path / "data"
    with (
        pm_serve(data, redis_url=redis.url, ws_rate_limit=FAST_RATE) as a,
        pm_serve(data, redis_url=redis.url, ws_rate_limit=FAST_RATE) as b,
    ):
        writer = await open_client(a.ws, "writer")
        project_id = await make_project(writer)
        watcher = await open_client(b.ws, "watcher")
        subscribed = await watcher.request("subscribe", {"project_ids": [project_id]})
        seen = int(payload(subscribed)[1]["current_seq"])
        before = [await create_task(writer, project_id, f"before {n}") for n in range(3)]
        frames = await frames_until(watcher, lambda f: len(created_events(f)) >= 3)
        assert [seq for seq, _ in created_events(frames)] == [seq for _item, seq in before]
        seen = max(seen, created_events(frames)[-1][0])

        redis.stop()
        await _until(lambda: _gauge(a, "pm_bus_connected") == 0)
        ready = await _ready(a)
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        # Commits go on: every write during the outage is answered.
        during = [await create_task(writer, project_id, f"during {n}") for n in range(5)]
        assert _gauge(a, "pm_bus_outages_total") >= 1

        redis.start()
        await _until(lambda: _gauge(b, "pm_bus_connected") == 1)
        await _until(lambda: _gauge(a, "pm_bus_connected") == 1)
        resync = await frames_until(
            watcher, lambda f: any(x.get("error", {}).get("code") == "RESYNC_REQUIRED" for x in f)
        )
        assert resync[-1]["message_id"] == ""
        assert (await _ready(a)).json()["status"] == "ready"
        changes = await watcher.request("get_changes", {"since_seq": seen})
        caught_up = [
            (e["work_item_created"]["work_item"]["id"], int(e["seq"]))
            for e in payload(changes)[1]["events"]
            if "work_item_created" in e
        ]
        assert caught_up == during  # nothing lost, in order, after the resync
        # Live events flow again across the processes.
        after = await create_task(writer, project_id, "after")
        frames = await frames_until(
            watcher, lambda f: any(seq == after[1] for seq, _ in created_events(f))
        )
        assert created_events(frames)[-1] == (after[1], after[0])
        await writer.close()
        await watcher.close()
