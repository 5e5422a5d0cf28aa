"""Watchers, mentions and notifications: who is told of each change, exactly once, never the
actor nor a non-member; the inbox per user; the user's own stream in the feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pm.config import load_settings
from pm.domain.events import Event
from pm.services import changes, comments, members, notifications, work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.wiring import build_bus, build_services, build_tenants
from tests.conftest import TEST_SECRET
from tests.services.factories import (
    JsonDict,
    Refusal,
    add_member,
    ctx_for,
    make_item,
    make_project,
    with_message,
)

ALICE = ctx_for("alice")
Team = tuple[JsonDict, RequestContext, RequestContext]  # project, bob (editor), carol (editor)


async def inbox(
    runner: ServiceRunner, ctx: RequestContext, **kw: Any
) -> notifications.NotificationsPage:
    return await runner.query(ctx, notifications.list_notifications, **kw)


async def told(runner: ServiceRunner, ctx: RequestContext) -> list[tuple[str, str]]:
    """(reason, excerpt) of each of the user's notifications, oldest first."""
    page = await inbox(runner, ctx)
    return [(n["reason"], n["excerpt"]) for n in reversed(page["notifications"])]


async def reasons(runner: ServiceRunner, *users: RequestContext) -> dict[str, list[str]]:
    return {u.user_id: [reason for reason, _ in await told(runner, u)] for u in users}


@pytest.fixture
async def team(runner: ServiceRunner) -> Team:
    project = await make_project(runner, ALICE)
    bob = await add_member(runner, ALICE, project, "bob", "editor")
    carol = await add_member(runner, ALICE, project, "carol", "editor")
    for ctx in (bob, carol):  # signed in once: their e-mail addresses are known
        await runner.touch_user(ctx)
    return project, bob, carol


async def test_assignment_tells_the_new_assignee_alone(runner: ServiceRunner, team: Team) -> None:
    project, bob, carol = team
    task = await make_item(runner, ALICE, project, assignee_id="bob")
    assert await reasons(runner, ALICE, bob, carol) == {
        "alice": [],
        "bob": ["assigned"],
        "carol": [],
    }
    await runner.command(
        ALICE, work_items.update_work_item, work_item_id=task["id"], fields={"assignee_id": "carol"}
    )
    assert await reasons(runner, ALICE, bob, carol) == {
        "alice": [],
        "bob": ["assigned"],
        "carol": ["assigned"],
    }
    page = await inbox(runner, carol)
    note = page["notifications"][0]
    assert (note["work_item_id"], note["actor_id"], note["title"]) == (task["id"], "alice", "Do it")
    assert note["work_item_key"] == task["key"] and note["read_at"] is None


async def test_assigning_yourself_tells_nobody(runner: ServiceRunner, team: Team) -> None:
    project, bob, carol = team
    await make_item(runner, bob, project, assignee_id="bob")
    assert await reasons(runner, ALICE, bob, carol) == {"alice": [], "bob": [], "carol": []}


async def test_a_comment_tells_watchers_and_mentioned_each_once(
    runner: ServiceRunner, team: Team
) -> None:
    """Alice created the task (a watcher), Bob is its assignee (a watcher); Bob comments
    mentioning Alice and Carol: Alice is told once, as mentioned (the stronger reason), Carol
    as mentioned, Bob (the actor) not at all."""
    project, bob, carol = team
    task = await make_item(runner, ALICE, project, assignee_id="bob")
    await runner.command(
        bob,
        comments.create_comment,
        work_item_id=task["id"],
        content="@alice and @carol: please look",
    )
    assert await reasons(runner, ALICE, bob, carol) == {
        "alice": ["mentioned"],
        "bob": ["assigned"],
        "carol": ["mentioned"],
    }
    await runner.command(carol, comments.create_comment, work_item_id=task["id"], content="done")
    assert await reasons(runner, ALICE, bob, carol) == {
        "alice": ["mentioned", "commented"],
        "bob": ["assigned", "commented"],
        "carol": ["mentioned"],
    }
    assert (await told(runner, ALICE))[-1] == ("commented", "done")


async def test_mentions_resolve_by_id_or_unique_email_and_ignore_non_members(
    runner: ServiceRunner, team: Team
) -> None:
    project, bob, carol = team
    dave = ctx_for("dave")
    await runner.touch_user(dave)  # a user of the tenant, not of the project
    text = "cc @carol@example.com, @dave, @nobody, mail bob@example.com and @carol."
    await make_item(runner, ALICE, project, description=text)
    assert await reasons(runner, ALICE, bob, carol, dave) == {
        "alice": [],
        "bob": [],  # bob@example.com is an address in the text, not a mention
        "carol": ["mentioned"],  # once, by e-mail and by id
        "dave": [],
    }


async def test_editing_a_description_tells_only_the_newly_mentioned(
    runner: ServiceRunner, team: Team
) -> None:
    project, bob, carol = team
    task = await make_item(runner, ALICE, project, description="ask @bob")
    await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=task["id"],
        fields={"description": "ask @bob and @carol"},
    )
    await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=task["id"],
        fields={"description": "ask @carol and @bob, thanks"},
    )
    assert await reasons(runner, bob, carol) == {"bob": ["mentioned"], "carol": ["mentioned"]}


async def test_editing_a_comment_tells_only_the_newly_mentioned(
    runner: ServiceRunner, team: Team
) -> None:
    project, bob, carol = team
    task = await make_item(runner, bob, project)
    made = await runner.command(
        ALICE, comments.create_comment, work_item_id=task["id"], content="hi @bob"
    )
    comment_id = made.payload["comment"]["id"]
    await runner.command(
        ALICE, comments.update_comment, comment_id=comment_id, content="hi @bob and @carol"
    )
    assert await reasons(runner, bob, carol) == {"bob": ["mentioned"], "carol": ["mentioned"]}
    note = (await inbox(runner, carol))["notifications"][0]
    assert note["comment_id"] == comment_id and note["excerpt"] == "hi @bob and @carol"


async def test_a_status_change_tells_the_watchers_but_not_the_actor(
    runner: ServiceRunner, team: Team
) -> None:
    project, bob, carol = team
    task = await make_item(runner, ALICE, project)
    await runner.command(carol, notifications.watch_item, work_item_id=task["id"])
    await runner.command(
        bob, work_items.update_work_item, work_item_id=task["id"], fields={"status": "in_progress"}
    )
    await runner.command(carol, work_items.move_work_item, work_item_id=task["id"], status="done")
    assert await told(runner, ALICE) == [
        ("status_changed", "backlog -> in_progress"),
        ("status_changed", "in_progress -> done"),
    ]
    assert await told(runner, carol) == [("status_changed", "backlog -> in_progress")]
    assert await told(runner, bob) == []  # not a watcher


async def test_one_change_tells_each_user_once_with_the_strongest_reason(
    runner: ServiceRunner, team: Team
) -> None:
    """Status, assignee and a mention in one update: Carol (watcher, new assignee and
    mentioned) is told once, as assigned; Bob (watcher and mentioned) once, as mentioned."""
    project, bob, carol = team
    task = await make_item(runner, ALICE, project)
    for ctx in (bob, carol):
        await runner.command(ctx, notifications.watch_item, work_item_id=task["id"])
    await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=task["id"],
        fields={"status": "in_progress", "assignee_id": "carol", "description": "@bob @carol"},
    )
    assert await reasons(runner, ALICE, bob, carol) == {
        "alice": [],
        "bob": ["mentioned"],
        "carol": ["assigned"],
    }


async def test_an_idempotent_retry_tells_nobody_twice(runner: ServiceRunner, team: Team) -> None:
    project, bob, _carol = team
    task = await make_item(runner, ALICE, project)
    retry = with_message(ALICE)
    for _ in range(2):
        await runner.command(
            retry, comments.create_comment, work_item_id=task["id"], content="@bob see this"
        )
    assert await told(runner, bob) == [("mentioned", "@bob see this")]


async def test_a_removed_member_stops_being_told(runner: ServiceRunner, team: Team) -> None:
    project, bob, _carol = team
    task = await make_item(runner, ALICE, project, assignee_id="bob")  # bob watches it
    await runner.command(ALICE, members.remove_member, project_id=project["id"], user_id="bob")
    await runner.command(
        ALICE, comments.create_comment, work_item_id=task["id"], content="@bob still there?"
    )
    await runner.command(
        ALICE, work_items.update_work_item, work_item_id=task["id"], fields={"status": "done"}
    )
    assert await told(runner, bob) == [("assigned", "")]


async def test_each_inbox_is_its_users_own(runner: ServiceRunner, team: Team) -> None:
    project, bob, carol = team
    await make_item(runner, ALICE, project, assignee_id="bob")
    page = await inbox(runner, bob)
    bobs = [n["id"] for n in page["notifications"]]
    assert (await inbox(runner, carol))["notifications"] == []
    stranger = ctx_for("bob", tenant_id="globex")  # the same user id in another tenant
    assert (await inbox(runner, stranger))["notifications"] == []
    marked = await runner.command(carol, notifications.mark_notifications_read, ids=bobs)
    assert marked.payload["ids"] == [] and marked.seq is None  # nothing of carol's changed
    assert (await inbox(runner, bob))["unread_count"] == 1


async def test_marking_read_by_ids_and_all(runner: ServiceRunner, team: Team) -> None:
    project, bob, _carol = team
    for title in ("one", "two", "three"):
        await make_item(runner, ALICE, project, title=title, assignee_id="bob")
    page = await inbox(runner, bob)
    assert page["unread_count"] == 3
    newest = page["notifications"][0]["id"]
    marked = await runner.command(bob, notifications.mark_notifications_read, ids=[newest])
    assert marked.payload == {"ids": [newest], "all": False, "unread_count": 2}
    unread = await inbox(runner, bob, unread_only=True)
    assert [n["title"] for n in unread["notifications"]] == ["two", "one"]
    assert (await inbox(runner, bob))["notifications"][0]["read_at"] is not None
    everything = await runner.command(bob, notifications.mark_notifications_read, all=True)
    assert everything.payload == {"ids": [], "all": True, "unread_count": 0}
    again = await runner.command(bob, notifications.mark_notifications_read, all=True)
    assert again.seq is None  # nothing changed: no event


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({}, "ids"),
        ({"ids": ["x"], "all": True}, "ids"),
        ({"ids": "x"}, "ids"),
        ({"ids": [""]}, "ids"),
        ({"ids": [7]}, "ids"),
        ({"all": "yes"}, "all"),
    ],
)
async def test_bad_mark_requests_are_refused_and_write_nothing(
    runner: ServiceRunner, published: list[tuple[str, Event]], args: dict[str, Any], field: str
) -> None:
    await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(ALICE, notifications.mark_notifications_read, **args)
    assert refusal.error.field == field


async def test_pages_run_newest_first_to_the_end(runner: ServiceRunner, team: Team) -> None:
    project, bob, _carol = team
    for number in range(7):
        await make_item(runner, ALICE, project, title=f"t{number}", assignee_id="bob")
    seen: list[str] = []
    cursor = None
    while True:
        page = await inbox(runner, bob, limit=3, cursor=cursor)
        seen += [n["title"] for n in page["notifications"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"t{number}" for number in reversed(range(7))]
    async with Refusal(runner, [], "VALIDATION_ERROR"):
        await inbox(runner, bob, cursor="bm90LWEtY3Vyc29y")


async def test_watching_needs_membership_and_is_bounded(
    tmp_path: Path, published: list[tuple[str, Event]]
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", jwt_secret=TEST_SECRET, notifications_max_watchers=2
    )
    async for runner in _runner_with(settings, published):
        project = await make_project(runner, ALICE)
        task = await make_item(runner, ALICE, project)  # alice watches it
        viewer = await add_member(runner, ALICE, project, "vera", "viewer")
        watched = await runner.command(viewer, notifications.watch_item, work_item_id=task["id"])
        assert watched.payload["watching"] is True and watched.seq is not None
        again = await runner.command(viewer, notifications.watch_item, work_item_id=task["id"])
        assert again.seq is None  # already watching: nothing written
        third = await add_member(runner, ALICE, project, "tom", "editor")
        async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
            await runner.command(third, notifications.watch_item, work_item_id=task["id"])
        assert "2 watchers" in refusal.error.message
        async with Refusal(runner, published, "NOT_FOUND"):
            await runner.command(
                ctx_for("mallory"), notifications.watch_item, work_item_id=task["id"]
            )
        listed = await runner.query(viewer, notifications.get_watchers, work_item_id=task["id"])
        assert listed == {
            "work_item_id": task["id"],
            "user_ids": ["alice", "vera"],
            "watching": True,
        }
        await runner.command(viewer, notifications.unwatch_item, work_item_id=task["id"])
        listed = await runner.query(viewer, notifications.get_watchers, work_item_id=task["id"])
        assert listed["user_ids"] == ["alice"] and listed["watching"] is False


async def test_each_user_keeps_the_newest_up_to_the_bound(
    tmp_path: Path, published: list[tuple[str, Event]]
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", jwt_secret=TEST_SECRET, notifications_max_per_user=3
    )
    async for runner in _runner_with(settings, published):
        project = await make_project(runner, ALICE)
        bob = await add_member(runner, ALICE, project, "bob", "editor")
        for number in range(5):
            await make_item(runner, ALICE, project, title=f"t{number}", assignee_id="bob")
        page = await inbox(runner, bob)
        assert [n["title"] for n in page["notifications"]] == ["t4", "t3", "t2"]
        assert page["unread_count"] == 3


async def test_too_many_mentions_are_refused_and_write_nothing(
    tmp_path: Path, published: list[tuple[str, Event]]
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", jwt_secret=TEST_SECRET, notifications_max_mentions=2
    )
    async for runner in _runner_with(settings, published):
        project = await make_project(runner, ALICE)
        task = await make_item(runner, ALICE, project)
        async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
            await runner.command(
                ALICE, comments.create_comment, work_item_id=task["id"], content="@a @b @c"
            )
        assert refusal.error.field == "content"
        async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
            await make_item(runner, ALICE, project, description="@a @b @c")
        assert refusal.error.field == "description"


async def test_notifications_are_in_the_feed_of_their_user_alone(
    runner: ServiceRunner, team: Team, published: list[tuple[str, Event]]
) -> None:
    project, bob, carol = team
    since = await runner.query(bob, changes.current_seq)
    task = await make_item(runner, ALICE, project, assignee_id="bob")
    await runner.command(
        ALICE, comments.create_comment, work_item_id=task["id"], content="@carol look"
    )
    bobs = await runner.query(bob, changes.get_changes, since_seq=since)
    carols = await runner.query(carol, changes.get_changes, since_seq=since)
    alices = await runner.query(ALICE, changes.get_changes, since_seq=since)

    def private(result: changes.Changes) -> list[tuple[str, str]]:
        return [
            (e.payload_name, e.payload["notification"]["reason"])
            for e in result.events
            if e.payload_name == "notification_created"
        ]

    assert private(bobs) == [
        ("notification_created", "assigned"),
        ("notification_created", "commented"),  # bob watches what he is assigned
    ]
    assert private(carols) == [("notification_created", "mentioned")]
    assert private(alices) == []
    # Asking for one project still brings the caller's own stream, and only theirs.
    only = await runner.query(
        bob, changes.get_changes, since_seq=since, project_ids=[project["id"]]
    )
    assert private(only) == private(bobs)
    streams = {event.project_id for _tenant, event in published if event.seq > since}
    assert streams == {project["id"], "@bob", "@carol"}


async def _runner_with(
    settings: Any, published: list[tuple[str, Event]]
) -> AsyncIterator[ServiceRunner]:
    manager = build_tenants(settings)
    try:
        bus = build_bus(settings, manager)
        bus.subscribe(lambda tenant, event: published.append((tenant, event)))
        yield build_services(settings, manager, bus)
    finally:
        manager.close()
