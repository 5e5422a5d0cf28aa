from __future__ import annotations

from pm.domain.events import Event
from pm.services import comments, time_entries
from pm.services.kernel.clock import now_ms
from pm.services.kernel.runner import ServiceRunner

from .factories import Refusal, add_member, ctx_for, make_item, make_project

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]
HOUR = 3_600_000


async def test_comments_with_one_level_of_replies(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    top = (
        await runner.command(ALICE, comments.create_comment, work_item_id=task["id"], content="Top")
    ).payload["comment"]
    reply = (
        await runner.command(
            ALICE,
            comments.create_comment,
            work_item_id=task["id"],
            content="Re",
            parent_comment_id=top["id"],
        )
    ).payload["comment"]
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE,
            comments.create_comment,
            work_item_id=task["id"],
            content="Deep",
            parent_comment_id=reply["id"],
        )
    listed = await runner.query(ALICE, comments.get_comments, work_item_id=task["id"])
    assert [(c["content"], c["parent_comment_id"]) for c in listed["comments"]] == [
        ("Top", None),
        ("Re", top["id"]),
    ]


async def test_comment_content_bounds(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    for content in ("", "x" * 20_001):
        async with Refusal(runner, published, "VALIDATION_ERROR"):
            await runner.command(
                ALICE, comments.create_comment, work_item_id=task["id"], content=content
            )


async def test_only_author_edits_and_author_or_admin_deletes(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    ed = await add_member(runner, ALICE, project, "ed", "editor")
    eve = await add_member(runner, ALICE, project, "eve", "editor")
    mine = (
        await runner.command(ed, comments.create_comment, work_item_id=task["id"], content="ed's")
    ).payload["comment"]
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(eve, comments.update_comment, comment_id=mine["id"], content="hijack")
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(eve, comments.delete_comment, comment_id=mine["id"])
    out = await runner.command(ed, comments.update_comment, comment_id=mine["id"], content="edited")
    assert out.payload["comment"]["content"] == "edited"
    await runner.command(ALICE, comments.delete_comment, comment_id=mine["id"])
    assert (await runner.query(ALICE, comments.get_comments, work_item_id=task["id"]))[
        "comments"
    ] == []


async def test_starting_a_timer_stops_the_running_one(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    a = await make_item(runner, ALICE, project, title="a")
    b = await make_item(runner, ALICE, project, title="b")
    first = await runner.command(ALICE, time_entries.start_timer, work_item_id=a["id"])
    assert first.payload["stopped_entry"] is None
    second = await runner.command(ALICE, time_entries.start_timer, work_item_id=b["id"])
    stopped = second.payload["stopped_entry"]
    assert stopped["id"] == first.payload["time_entry"]["id"] and stopped["ended_at"] is not None
    assert second.payload["time_entry"]["ended_at"] is None
    totals = await runner.query(ALICE, time_entries.get_time_entries, work_item_id=b["id"])
    assert len(totals["time_entries"]) == 1


async def test_stop_timer_sets_duration_and_only_owner_stops(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    eve = await add_member(runner, ALICE, project, "eve", "editor")
    entry = (
        await runner.command(ALICE, time_entries.start_timer, work_item_id=task["id"])
    ).payload["time_entry"]
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(eve, time_entries.stop_timer, time_entry_id=entry["id"])
    stopped = (
        await runner.command(ALICE, time_entries.stop_timer, time_entry_id=entry["id"])
    ).payload["time_entry"]
    assert stopped["duration_seconds"] is not None and stopped["ended_at"] >= stopped["started_at"]
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(ALICE, time_entries.stop_timer, time_entry_id=entry["id"])


async def test_manual_entry_rules(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    now = now_ms()
    ok = await runner.command(
        ALICE,
        time_entries.create_time_entry,
        work_item_id=task["id"],
        started_at=now - 2 * HOUR,
        ended_at=now - HOUR,
    )
    assert ok.payload["time_entry"]["duration_seconds"] == 3600
    for start, end in (
        (now - HOUR, now - 2 * HOUR),
        (now - HOUR, now + HOUR),
        (now - 25 * HOUR, now - 10),
    ):
        async with Refusal(runner, published, "VALIDATION_ERROR"):
            await runner.command(
                ALICE,
                time_entries.create_time_entry,
                work_item_id=task["id"],
                started_at=start,
                ended_at=end,
            )
    totals = await runner.query(ALICE, time_entries.get_time_entries, work_item_id=task["id"])
    assert totals["total_seconds"] == 3600
    assert totals["by_user"] == [{"user_id": "alice", "total_seconds": 3600}]


async def test_admin_may_delete_anothers_entry_but_not_edit_it(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    ed = await add_member(runner, ALICE, project, "ed", "editor")
    now = now_ms()
    entry = (
        await runner.command(
            ed,
            time_entries.create_time_entry,
            work_item_id=task["id"],
            started_at=now - HOUR,
            ended_at=now - 10,
        )
    ).payload["time_entry"]
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(
            ALICE,
            time_entries.update_time_entry,
            time_entry_id=entry["id"],
            fields={"description": "x"},
        )
    await runner.command(ALICE, time_entries.delete_time_entry, time_entry_id=entry["id"])
    assert (await runner.query(ALICE, time_entries.get_time_entries, work_item_id=task["id"]))[
        "time_entries"
    ] == []


async def test_one_running_timer_per_user_across_projects(
    runner: ServiceRunner, published: Published
) -> None:
    one = await make_project(runner, ALICE, "One")
    two = await make_project(runner, ALICE, "Two")
    a = await make_item(runner, ALICE, one)
    b = await make_item(runner, ALICE, two)
    await runner.command(ALICE, time_entries.start_timer, work_item_id=a["id"])
    sent = len(published)
    await runner.command(ALICE, time_entries.start_timer, work_item_id=b["id"])
    names = [(e.project_id, e.payload_name) for _t, e in published[sent:]]
    assert names == [(one["id"], "time_entry_updated"), (two["id"], "timer_started")]
