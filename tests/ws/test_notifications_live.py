"""Notifications over a real server: live to every socket of their user (and no other), read
marks to the user's other sockets, exactly the missed ones after a reconnect."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer, TokenFactory

from .client import Client, payload


async def _until(client: Client, name: str) -> dict[str, Any]:
    """The next frame of this payload; the frames before it are returned to the client's list
    of events, so a later look sees them."""
    skipped: list[dict[str, Any]] = []
    try:
        while True:
            frame = await client.event()
            if payload(frame)[0] == name:
                return frame
            skipped.append(frame)
    finally:
        client.events[:0] = skipped


def _names(client: Client) -> list[str]:
    return [payload(frame)[0] for frame in client.events]


async def _setup(live_server: LiveServer, make_token: TokenFactory) -> tuple[Client, str, str]:
    """Alice's socket, a project with bob and carol as editors, a task alice created."""
    alice = await Client.open(live_server.ws, make_token("alice"))
    made = await alice.request("create_work_item", {"item_type": "project", "title": "P"})
    project = payload(made)[1]["work_item"]["id"]
    for user in ("bob", "carol"):
        await alice.request(
            "add_member", {"project_id": project, "user_id": user, "role": "editor"}
        )
    task = await alice.request(
        "create_work_item", {"item_type": "task", "parent_id": project, "title": "T"}
    )
    return alice, project, payload(task)[1]["work_item"]["id"]


async def test_a_mention_reaches_every_socket_of_its_user_and_nobody_else(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice, project, task = await _setup(live_server, make_token)
    board = await Client.open(live_server.ws, make_token("bob"))  # JSON, subscribed
    inbox = await Client.open(live_server.ws, make_token("bob"), "protobuf")  # inbox only
    carol = await Client.open(live_server.ws, make_token("carol"))
    try:
        await board.request("subscribe", {"project_ids": [project]})
        await carol.request("subscribe", {"project_ids": [project]})
        page = payload(await inbox.request("list_notifications", {"unread_only": True}))[1]
        assert page.get("notifications", []) == [] and int(page.get("unread_count", 0)) == 0

        await alice.request("create_comment", {"work_item_id": task, "content": "@bob have a look"})
        for socket in (board, inbox):
            frame = await _until(socket, "notification_created")
            body = payload(frame)[1]
            assert body["notification"]["reason"] == "mentioned"
            assert body["notification"]["work_item_id"] == task
            assert int(body["unread_count"]) == 1 and frame["actor_id"] == "alice"
        note_id = body["notification"]["id"]

        # A later change carol sees proves nothing meant for bob came before it.
        await alice.request(
            "update_work_item", {"work_item_id": task, "expected_version": 1, "title": "T2"}
        )
        await _until(carol, "work_item_updated")
        assert "notification_created" not in _names(carol)

        marked = await board.request("mark_notifications_read", {"ids": [note_id]})
        assert payload(marked)[1]["ids"] == [note_id]
        read = payload(await _until(inbox, "notifications_read"))[1]
        assert read["ids"] == [note_id] and int(read.get("unread_count", 0)) == 0
        again = payload(await inbox.request("list_notifications", {}))[1]
        assert again["notifications"][0]["read_at"]
    finally:
        for client in (alice, board, inbox, carol):
            await client.close()


async def test_a_reconnecting_client_gets_exactly_the_notifications_it_missed(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice, project, task = await _setup(live_server, make_token)
    bob = await Client.open(live_server.ws, make_token("bob"))
    carol = await Client.open(live_server.ws, make_token("carol"))
    try:
        subscribed = await bob.request("subscribe", {"project_ids": [project]})
        last_seq = int(payload(subscribed)[1]["current_seq"])
        await bob.close()  # bob goes offline

        await alice.request(
            "update_work_item", {"work_item_id": task, "expected_version": 1, "assignee_id": "bob"}
        )
        await alice.request("create_comment", {"work_item_id": task, "content": "@carol too"})
        other = await alice.request(
            "create_work_item", {"item_type": "task", "parent_id": project, "title": "U"}
        )
        other_id = payload(other)[1]["work_item"]["id"]
        await alice.request(
            "update_work_item",
            {"work_item_id": other_id, "expected_version": 1, "assignee_id": "bob"},
        )

        bob = await Client.open(live_server.ws, make_token("bob"))
        missed = payload(await bob.request("get_changes", {"since_seq": last_seq}))[1]
        private = [
            payload(event)[1]["notification"]
            for event in missed["events"]
            if payload(event)[0] == "notification_created"
        ]
        assert [(n["reason"], n["work_item_id"]) for n in private] == [
            ("assigned", task),
            ("commented", task),  # bob watches what he was assigned
            ("assigned", other_id),
        ]
        seqs = [int(event["seq"]) for event in missed["events"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        carols = payload(await carol.request("get_changes", {"since_seq": last_seq}))[1]
        theirs = [
            payload(event)[1]["notification"]["reason"]
            for event in carols["events"]
            if payload(event)[0] == "notification_created"
        ]
        assert theirs == ["mentioned"]
        inbox = payload(await bob.request("list_notifications", {}))[1]
        assert [n["id"] for n in inbox["notifications"]] == [n["id"] for n in reversed(private)]
        assert int(inbox["unread_count"]) == 3
    finally:
        for client in (alice, bob, carol):
            await client.close()


async def test_watch_and_unwatch_over_the_socket(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice, project, task = await _setup(live_server, make_token)
    bob = await Client.open(live_server.ws, make_token("bob"))
    stranger = await Client.open(live_server.ws, make_token("mallory"))
    try:
        await bob.request("subscribe", {"project_ids": [project]})
        watched = payload(await bob.request("watch", {"work_item_id": task}))
        assert watched == (
            "watch_changed",
            {"work_item_id": task, "project_id": project, "watching": True},
        )
        await alice.request(
            "update_work_item",
            {"work_item_id": task, "expected_version": 1, "status": "in_progress"},
        )
        note = payload(await _until(bob, "notification_created"))[1]["notification"]
        assert (note["reason"], note["excerpt"]) == ("status_changed", "backlog -> in_progress")
        listed = payload(await bob.request("get_watchers", {"work_item_id": task}))[1]
        assert listed["user_ids"] == ["alice", "bob"] and listed["watching"] is True
        unwatched = payload(await bob.request("unwatch", {"work_item_id": task}))[1]
        assert unwatched.get("watching", False) is False
        refused = payload(await stranger.request("watch", {"work_item_id": task}))
        assert refused[0] == "error" and refused[1]["code"] == "NOT_FOUND"
        bad = payload(await bob.request("mark_notifications_read", {}))
        assert bad[0] == "error" and bad[1]["code"] == "VALIDATION_ERROR"
    finally:
        for client in (alice, bob, stranger):
            await client.close()


async def test_another_users_stream_is_not_a_project_anyone_may_subscribe_to(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    alice, project, task = await _setup(live_server, make_token)
    mallory = await Client.open(live_server.ws, make_token("mallory", roles=("admin",)))
    try:
        for request in ("subscribe", "get_changes"):
            body = {"project_ids": ["@bob"]} | (
                {"since_seq": 0} if request == "get_changes" else {}
            )
            refused = payload(await mallory.request(request, body))
            assert refused[0] == "error" and refused[1]["code"] == "NOT_FOUND"
        await mallory.request("subscribe", {"project_ids": [project]})  # a tenant admin
        await alice.request("create_comment", {"work_item_id": task, "content": "@bob see"})
        await _until(mallory, "comment_created")
        await alice.request(
            "update_work_item", {"work_item_id": task, "expected_version": 1, "title": "T3"}
        )
        await _until(mallory, "work_item_updated")
        assert "notification_created" not in _names(mallory)
    finally:
        for client in (alice, mallory):
            await client.close()
