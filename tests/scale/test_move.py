"""``pm tenants move`` then ``pm tenants restore`` between two real nodes behind a real nginx,
with Redis carrying the pin: an item written just before the move is on the new node, the
sockets on the old node are told to reconnect, and through the proxy they reach the new node and
catch up exactly; a write after the move lands on the new node only."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from pm.tenancy.marks import MOVED_AWAY
from pm.tenancy.placement import Placement
from tests.conftest import TEST_SECRET, free_port
from tests.daemons import RedisServer, nginx_server
from tests.ws.client import Client, payload
from tests.ws.serve import ServeProcess, pm_serve

from .conftest import WAIT, create_task, created_events, frames_until, make_project, token
from .test_nodes import generated_nginx_config


@dataclass
class Nodes:
    ids: list[str]
    servers: list[ServeProcess]
    proxy_ws: str
    redis_url: str

    def env(self, index: int) -> dict[str, str]:
        return {
            **os.environ,
            "PM_DATA_DIR": str(self.servers[index].data_dir),
            "PM_JWT_SECRET": TEST_SECRET,
            "PM_NODE_ID": self.ids[index],
            "PM_NODES": ",".join(self.ids),
            "PM_REDIS_URL": self.redis_url,
        }

    def pm(self, index: int, *args: str) -> subprocess.CompletedProcess[str]:
        pm = Path(sys.executable).parent / "pm"
        return subprocess.run(
            [str(pm), *args],
            env=self.env(index),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def nodes(tmp_path: Path, redis: RedisServer) -> Iterator[Nodes]:
    ports = [free_port(), free_port()]
    ids = [f"127.0.0.1:{port}" for port in ports]
    proxy_port = free_port()
    config = generated_nginx_config(ids, f"127.0.0.1:{proxy_port}", tmp_path / "nginx")
    common = {"nodes": ",".join(ids), "redis_url": redis.url, "ws_rate_limit": "100000/second"}
    with (
        pm_serve(tmp_path / "a" / "data", port=ports[0], node_id=ids[0], **common) as a,
        pm_serve(tmp_path / "b" / "data", port=ports[1], node_id=ids[1], **common) as b,
        nginx_server(config, proxy_port),
    ):
        yield Nodes(ids, [a, b], f"ws://127.0.0.1:{proxy_port}", redis.url)


def _db(server: ServeProcess, tenant: str) -> Path:
    return server.data_dir / "tenants" / tenant / "main.db"


def _task_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT id FROM work_items WHERE item_type = 'task'")}


def _feed_after(path: Path, seq: int) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT seq, json_extract(payload, '$.work_item.id') FROM change_feed"
            " WHERE seq > ? AND payload_name = 'work_item_created' ORDER BY seq",
            (seq,),
        )
        return [(int(s), str(i)) for s, i in rows]


async def _closed_code(client: Client) -> int | None:
    try:
        while True:
            await client.recv(timeout=WAIT)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def test_a_moved_tenant_keeps_every_write_and_its_clients_follow(
    nodes: Nodes, tmp_path: Path
) -> None:
    ring = Placement(None, nodes.ids)
    tenant = next(t for t in (f"mover-{n}" for n in range(100)) if ring.owner(t) == nodes.ids[0])
    url = f"{nodes.proxy_ws}/t/{tenant}/ws"
    writer = await Client.open(url, token("alice", tenant), max_queue=None)
    watcher = await Client.open(url, token("bob", tenant), max_queue=None)
    project_id = await make_project(writer)
    await watcher.request("subscribe", {"project_ids": [project_id]})
    before = [await create_task(writer, project_id, f"before {n}") for n in range(5)]
    seen = await frames_until(watcher, lambda f: len(created_events(f)) >= 5)
    last_seen = created_events(seen)[-1][0]
    just_before = await create_task(writer, project_id, "just before the move")

    out = str(tmp_path / "copy.db")
    moved = nodes.pm(0, "tenants", "move", tenant, "--to", nodes.ids[1], "--out", out)
    assert moved.returncode == 0, moved.stderr
    copy = Path(moved.stdout.split(" copied to ")[1].split(" (")[0])
    restored = nodes.pm(1, "tenants", "restore", tenant, str(copy))
    assert restored.returncode == 0, restored.stderr

    # Every acknowledged write, the last one included, is in the new node's file.
    new_file, old_file = _db(nodes.servers[1], tenant), _db(nodes.servers[0], tenant)
    assert {item for item, _seq in [*before, just_before]} <= _task_ids(new_file)
    with sqlite3.connect(old_file) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == MOVED_AWAY
    # The old node tells its sockets to go; through the proxy they reach the new node.
    assert await _closed_code(watcher) == 1012
    back = await Client.open(url, token("bob", tenant), max_queue=None)
    changes = await back.request("get_changes", {"since_seq": last_seen})
    caught = [
        (int(e["seq"]), e["work_item_created"]["work_item"]["id"])
        for e in payload(changes)[1]["events"]
        if "work_item_created" in e
    ]
    assert caught == _feed_after(new_file, last_seen)
    assert (just_before[1], just_before[0]) in caught

    # The writer's next write is turned away by the old node; reconnected, it lands on the new.
    refused = await writer.request(
        "create_work_item", {"item_type": "task", "parent_id": project_id, "title": "refused"}
    )
    assert refused["error"]["code"] in ("WRONG_NODE", "UNAVAILABLE")
    assert await _closed_code(writer) == 1012
    writer = await Client.open(url, token("alice", tenant), max_queue=None)
    after = await create_task(writer, project_id, "after the move")
    assert after[0] in _task_ids(new_file) and after[0] not in _task_ids(old_file)
    assert after[1] == _feed_after(new_file, 0)[-1][0]  # the seq goes on from the copy's
    await writer.close()
    await back.close()
