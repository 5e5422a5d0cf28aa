"""Live collaboration over a real uvicorn server and real websockets clients."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import LiveServer, TokenFactory

from .client import Client, payload


async def _project(client: Client, title: str = "P") -> str:
    response = await client.request("create_work_item", {"item_type": "project", "title": title})
    return str(payload(response)[1]["work_item"]["id"])


async def test_protobuf_and_json_clients_see_each_others_changes(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"), "protobuf")
    bob = await Client.open(live_server.ws, make_token("bob", roles=("admin",)), "json")
    outsider = await Client.open(
        live_server.ws, make_token("eve", tenant_id="other", roles=("admin",)), "json"
    )
    try:
        project = await _project(alice)
        other_project = await _project(alice, "Other")
        await outsider.request("create_work_item", {"item_type": "project", "title": "Theirs"})
        assert (
            payload(await bob.request("subscribe", {"project_ids": [project]}))[0] == "subscribed"
        )
        await alice.request("subscribe", {"project_ids": [project, other_project]})
        watcher = await Client.open(live_server.ws, make_token("walt", roles=("admin",)), "json")
        await watcher.request("subscribe", {"project_ids": [other_project]})

        created = await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": "From alice"}
        )
        name, body = payload(created)
        assert name == "work_item_created" and int(created["seq"]) > 0
        seen_by_bob = await _next_change(bob)
        assert payload(seen_by_bob)[0] == "work_item_created"
        assert payload(seen_by_bob)[1]["work_item"]["id"] == body["work_item"]["id"]
        assert payload(seen_by_bob)[1]["work_item"]["title"] == "From alice"
        assert seen_by_bob["actor_id"] == "alice" and int(seen_by_bob["seq"]) == int(created["seq"])

        task = payload(seen_by_bob)[1]["work_item"]
        await bob.request(
            "update_work_item",
            {"work_item_id": task["id"], "expected_version": 1, "title": "From bob"},
        )
        seen_by_alice = await _next_change(alice)
        assert payload(seen_by_alice)[0] == "work_item_updated"
        assert payload(seen_by_alice)[1]["work_item"]["title"] == "From bob"

        assert not [e for e in alice.events if payload(e)[0] == "work_item_created"]
        assert [payload(e)[0] for e in watcher.events] in ([], ["presence_changed"])
        await asyncio.sleep(0.2)
        assert not [f for f in await _drain(watcher) if payload(f)[0].startswith("work_item")]
        assert not [f for f in await _drain(outsider) if payload(f)[0].startswith("work_item")]
        await watcher.close()
    finally:
        for client in (alice, bob, outsider):
            await client.close()


async def _next_change(client: Client) -> dict[str, Any]:
    while True:
        frame = await client.event()
        if payload(frame)[0] != "presence_changed":
            return frame


async def _drain(client: Client) -> list[dict[str, object]]:
    frames = list(client.events)
    client.events.clear()
    while True:
        try:
            frames.append(await client.recv(timeout=0.2))
        except TimeoutError:
            return frames


async def _presence(client: Client) -> Any:
    """The next presence frame's body (other frames are not expected here)."""
    name, body = payload(await client.event())
    assert name == "presence_changed"
    return body


async def test_presence_tells_the_joiner_everyone_and_the_others_the_change(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice", roles=("admin",)))
    bob = await Client.open(live_server.ws, make_token("bob", roles=("admin",)))
    try:
        project = await _project(alice)
        await alice.request("subscribe", {"project_ids": [project]})
        assert await _presence(alice) == {"project_id": project, "users": ["alice"]}
        await bob.request("subscribe", {"project_ids": [project]})
        assert await _presence(bob) == {"project_id": project, "users": ["alice", "bob"]}
        joined = {"project_id": project, "joined": ["bob"], "left": []}
        assert await _presence(alice) == joined
        await bob.close()
        assert await _presence(alice) == {"project_id": project, "joined": [], "left": ["bob"]}
    finally:
        await alice.close()


async def test_presence_goes_out_only_when_the_set_of_viewers_changes(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    """A second tab of a user already viewing changes nobody's picture: only that tab is told
    who is there; closing one of two tabs tells nobody; closing the last one tells the rest.
    (Frames keep their order, so "the next frame is the leave" proves nothing came before.)"""
    alice = await Client.open(live_server.ws, make_token("alice", roles=("admin",)))
    bob_tabs = [await Client.open(live_server.ws, make_token("bob", roles=("admin",)))]
    try:
        project = await _project(alice)
        await alice.request("subscribe", {"project_ids": [project]})
        assert (await _presence(alice))["users"] == ["alice"]
        await bob_tabs[0].request("subscribe", {"project_ids": [project]})
        assert (await _presence(alice))["joined"] == ["bob"]
        bob_tabs.append(await Client.open(live_server.ws, make_token("bob", roles=("admin",))))
        await bob_tabs[1].request("subscribe", {"project_ids": [project]})
        assert await _presence(bob_tabs[1]) == {"project_id": project, "users": ["alice", "bob"]}
        await bob_tabs.pop().close()
        await bob_tabs.pop().close()
        assert await _presence(alice) == {"project_id": project, "joined": [], "left": ["bob"]}
    finally:
        for client in (alice, *bob_tabs):
            await client.close()


async def test_reconnect_catches_up_exactly_what_was_missed(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    token = make_token("alice")
    writer = await Client.open(live_server.ws, token, "protobuf")
    reader = await Client.open(live_server.ws, token, "json")
    project = await _project(writer)
    subscribed = payload(await reader.request("subscribe", {"project_ids": [project]}))[1]
    last_seen = int(subscribed["current_seq"])
    await reader.close()

    task_ids = []
    for n in range(49):
        response = await writer.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": f"t{n}"}
        )
        task_ids.append(payload(response)[1]["work_item"]["id"])
    deleted = await writer.request(
        "delete_work_item", {"work_item_id": task_ids[0], "expected_version": 1}
    )

    back = await Client.open(live_server.ws, token, "json")
    try:
        events: list[dict[str, object]] = []
        since = last_seen
        while True:
            changes = payload(
                await back.request(
                    "get_changes", {"since_seq": since, "project_ids": [project], "limit": 20}
                )
            )[1]
            events += changes["events"]
            since = int(changes["as_of_seq"])
            if not changes["has_more"]:
                break
        assert len(events) == 50
        seqs = [int(e["seq"]) for e in events]  # type: ignore[call-overload]
        assert seqs == list(range(last_seen + 1, last_seen + 51))
        assert payload(events[-1]) == ("work_item_deleted", payload(deleted)[1])
        assert [payload(e)[1]["work_item"]["title"] for e in events[:-1]] == [
            f"t{n}" for n in range(49)
        ]
        resumed = payload(await back.request("subscribe", {"project_ids": [project]}))[1]
        assert int(resumed["current_seq"]) == since
        live = await writer.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": "live"}
        )
        frame = await _next_change(back)
        assert int(frame["seq"]) == int(live["seq"]) == since + 1
    finally:
        await back.close()
        await writer.close()


async def test_subscribe_to_a_foreign_project_is_not_found(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"))
    mallory = await Client.open(live_server.ws, make_token("mallory"))
    try:
        project = await _project(alice)
        refused = await mallory.request("subscribe", {"project_ids": [project]})
        assert payload(refused)[1]["code"] == "NOT_FOUND"
        await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": "secret"}
        )
        assert not [f for f in await _drain(mallory) if payload(f)[0] != "presence_changed"]
    finally:
        await alice.close()
        await mallory.close()


async def test_retried_message_id_is_answered_once(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"))
    try:
        project = await _project(alice)
        body = {
            "message_id": "retry-1",
            "create_work_item": {"item_type": "task", "parent_id": project, "title": "once"},
        }
        await alice.send_raw(body)
        first = await alice.recv()
        await alice.send_raw(body)
        second = await alice.recv()
        assert first["seq"] == second["seq"]
        assert payload(first)[1] == payload(second)[1]
    finally:
        await alice.close()
