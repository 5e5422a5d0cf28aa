"""Revocation crosses processes: a member removed by a command committed on one pm serve process
loses the subscription it holds on the other (the event reaches it by the Redis bus, and that
process checks the access again against the shared tenant file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pm.auth import issue_token
from tests.conftest import TEST_SECRET
from tests.daemons import RedisServer
from tests.ws.client import Client, payload
from tests.ws.serve import pm_serve

from .conftest import create_task, frames_until, make_project, open_client


def _of(frames: list[dict[str, Any]], name: str) -> list[Any]:
    return [payload(f)[1] for f in frames if payload(f)[0] == name]


async def test_a_member_removed_on_one_process_loses_its_subscription_on_the_other(
    tmp_path: Path, redis: RedisServer
) -> None:
    data = tmp_path / "data"
    with pm_serve(data, redis_url=redis.url) as a, pm_serve(data, redis_url=redis.url) as b:
        owner = await open_client(a.ws, "owner")  # an admin, on process a
        bob = await Client.open(  # a plain user, on process b
            b.ws, issue_token(TEST_SECRET, tenant_id="acme", user_id="bob"), max_queue=None
        )
        try:
            secret = await make_project(owner, "Secret")
            shared = await make_project(owner, "Shared")
            for project_id in (secret, shared):
                await owner.request(
                    "add_member", {"project_id": project_id, "user_id": "bob", "role": "viewer"}
                )
            subscribed = await bob.request("subscribe", {"project_ids": [secret, shared]})
            assert payload(subscribed)[0] != "error", subscribed
            bob.events.clear()

            await owner.request("remove_member", {"project_id": secret, "user_id": "bob"})
            frames = await frames_until(bob, lambda f: _of(f, "subscriptions_revoked"))
            assert _of(frames, "subscriptions_revoked") == [
                {"project_ids": [secret], "reason": "access_changed"}
            ]

            hidden, _seq = await create_task(owner, secret, "after bob left")
            shown, _seq = await create_task(owner, shared, "still shared")
            later = await frames_until(
                bob,
                lambda f: any(w["work_item"]["id"] == shown for w in _of(f, "work_item_created")),
            )
            created = [w["work_item"] for w in _of(frames + later, "work_item_created")]
            assert hidden not in {item["id"] for item in created}
            assert {item["project_id"] for item in created} == {shared}
            refused = await bob.request("subscribe", {"project_ids": [secret]})
            assert payload(refused)[1]["code"] == "NOT_FOUND"
        finally:
            await owner.close()
            await bob.close()
