"""A user's notifications cross worker processes by the Redis bus like any event: with
``pm serve --workers 2``, a mention made on one worker reaches the user's sockets on both, and
a read mark made on one reaches the user's socket on the other."""

from __future__ import annotations

from pathlib import Path

from tests.daemons import RedisServer
from tests.ws.client import Client, payload
from tests.ws.serve import pm_serve

from .conftest import frames_until, make_project
from .test_workers import FAST_RATE, both_workers, client_on


def _named(frames: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [frame for frame in frames if payload(frame)[0] == name]


async def test_a_mention_on_one_worker_reaches_the_users_sockets_on_both(
    tmp_path: Path, redis: RedisServer
) -> None:
    data = tmp_path / "data"
    with pm_serve(data, "--workers", "2", redis_url=redis.url, ws_rate_limit=FAST_RATE) as server:
        here, there = sorted(await both_workers(server))
        alice = await client_on(server, "alice", {here})
        project = await make_project(alice)
        await alice.request(
            "add_member", {"project_id": project, "user_id": "bob", "role": "editor"}
        )
        made = await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": "T"}
        )
        task = payload(made)[1]["work_item"]["id"]
        near: Client = await client_on(server, "bob", {here})
        far: Client = await client_on(server, "bob", {there})
        await near.request("subscribe", {"project_ids": [project]})
        await far.request("list_notifications", {})
        try:
            await alice.request("create_comment", {"work_item_id": task, "content": "@bob look"})
            for socket in (near, far):
                frames = await frames_until(
                    socket, lambda f: bool(_named(f, "notification_created"))
                )
                note = payload(_named(frames, "notification_created")[0])[1]["notification"]
                assert (note["reason"], note["work_item_id"]) == ("mentioned", task)
            await near.request("mark_notifications_read", {"all": True})
            frames = await frames_until(far, lambda f: bool(_named(f, "notifications_read")))
            read = payload(_named(frames, "notifications_read")[0])[1]
            assert read["all"] is True and int(read.get("unread_count", 0)) == 0
        finally:
            for client in (alice, near, far):
                await client.close()
