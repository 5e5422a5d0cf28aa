"""Access follows membership and role changes onto live sockets (PROTOCOL.md,
``SubscriptionsRevoked``): a socket that lost access is told which subscriptions it lost, and
no further event of those projects reaches it."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer, TokenFactory

from .client import Client, payload


async def _project(client: Client, title: str = "P") -> str:
    response = await client.request("create_work_item", {"item_type": "project", "title": title})
    return str(payload(response)[1]["work_item"]["id"])


async def _frames_until_revoked(client: Client) -> list[dict[str, Any]]:
    """Frames up to the SubscriptionsRevoked the server sends once it has checked access
    again (a moment after the change), then everything queued behind it."""
    frames: list[dict[str, Any]] = []
    while not frames or payload(frames[-1])[0] != "subscriptions_revoked":
        frames.append(await client.event())
    return frames + await _frames_until_answer(client)


async def _frames_until_answer(client: Client) -> list[dict[str, Any]]:
    """Every frame the socket receives before the answer to a request sent now: what the
    server had queued for it by then, in order."""
    answer = await client.request("list_projects")
    assert payload(answer)[0] == "projects_list"
    frames, client.events = client.events, []
    return frames


def _names(frames: list[dict[str, Any]]) -> list[str]:
    return [payload(frame)[0] for frame in frames if payload(frame)[0] != "presence_changed"]


async def test_a_removed_member_is_told_and_gets_no_further_event(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"))
    bob = await Client.open(live_server.ws, make_token("bob"))
    try:
        project = await _project(alice)
        other = await _project(alice, "Still shared")
        for project_id in (project, other):
            await alice.request(
                "add_member", {"project_id": project_id, "user_id": "bob", "role": "viewer"}
            )
        await bob.request("subscribe", {"project_ids": [project, other]})
        await _frames_until_answer(bob)

        await alice.request("remove_member", {"project_id": project, "user_id": "bob"})
        item = await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": "secret"}
        )
        item_id = payload(item)[1]["work_item"]["id"]
        await alice.request(
            "update_work_item",
            {"work_item_id": item_id, "expected_version": 1, "description": "more secret"},
        )
        await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": other, "title": "x"}
        )

        frames = await _frames_until_revoked(bob)
        names = _names(frames)
        # The other project's event is not held: it may come before or after the revocation.
        assert names[0] == "member_removed"
        assert sorted(names[1:]) == ["subscriptions_revoked", "work_item_created"]
        revoked = payload(frames[names.index("subscriptions_revoked")])[1]
        assert revoked == {"project_ids": [project], "reason": "access_changed"}
        created = payload(frames[names.index("work_item_created")])[1]
        assert created["work_item"]["project_id"] == other
        assert "secret" not in str(frames)
    finally:
        await alice.close()
        await bob.close()


async def test_reauthenticate_with_fewer_rights_revokes_what_the_new_token_cannot_see(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"))
    carol = await Client.open(live_server.ws, make_token("carol", roles=("admin",)))
    try:
        private = await _project(alice, "alice only")
        shared = await _project(alice, "shared")
        await alice.request(
            "add_member", {"project_id": shared, "user_id": "carol", "role": "viewer"}
        )
        await carol.request("subscribe", {"project_ids": [private, shared]})

        answer = await carol.request("reauthenticate", {"token": make_token("carol")})
        frames, carol.events = carol.events, []
        assert payload(answer)[0] == "reauthenticated"
        revoked = [payload(f)[1] for f in frames if payload(f)[0] == "subscriptions_revoked"]
        assert revoked == [{"project_ids": [private], "reason": "reauthenticated"}]

        await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": private, "title": "p"}
        )
        await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": shared, "title": "s"}
        )
        frames = await _frames_until_answer(carol)
        created = [
            payload(f)[1]["work_item"] for f in frames if payload(f)[0] == "work_item_created"
        ]
        assert [item["project_id"] for item in created] == [shared]
        refused = await carol.request("subscribe", {"project_ids": [private]})
        assert payload(refused)[1]["code"] == "NOT_FOUND"
    finally:
        await alice.close()
        await carol.close()


async def test_a_deleted_project_revokes_every_subscriber(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice = await Client.open(live_server.ws, make_token("alice"))
    bob = await Client.open(live_server.ws, make_token("bob"))
    try:
        project = await _project(alice)
        await alice.request(
            "add_member", {"project_id": project, "user_id": "bob", "role": "editor"}
        )
        await bob.request("subscribe", {"project_ids": [project]})
        snapshot = await alice.request("get_project", {"project_id": project})
        version = payload(snapshot)[1]["project"]["version"]
        await alice.request(
            "delete_work_item", {"work_item_id": project, "expected_version": version}
        )
        frames = await _frames_until_revoked(bob)
        assert _names(frames) == ["work_item_deleted", "subscriptions_revoked"]
    finally:
        await alice.close()
        await bob.close()
