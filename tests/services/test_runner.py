"""The unit of work: atomicity, idempotency, error mapping, feed and activity together."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pm.domain.events import Event, Outcome
from pm.domain.models import WorkItem
from pm.errors import Conflict, InternalError, PmError
from pm.services import work_items
from pm.services.changes import get_changes
from pm.services.kernel.clock import now_ms
from pm.services.kernel.housekeeping import sweep_tenant
from pm.services.kernel.runner import ServiceRunner
from pm.services.kernel.unit_of_work import UnitOfWork

from .factories import Refusal, ctx_for, item_of, make_item, make_project, state_of, with_message

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]


async def test_failure_after_the_write_leaves_no_trace(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    before, sent = state_of(runner), len(published)

    def create_then_fail(uow: UnitOfWork, /, **kwargs: Any) -> Outcome:
        work_items.create_work_item(uow, **kwargs)
        uow.flush()
        raise Conflict("injected after the write", current_version=1)

    with pytest.raises(Conflict):
        await runner.command(
            ALICE, create_then_fail, item_type="task", parent_id=project["id"], title="ghost"
        )
    assert state_of(runner) == before
    assert len(published) == sent


async def test_unexpected_exception_becomes_internal_without_details(
    runner: ServiceRunner, published: Published
) -> None:
    await make_project(runner, ALICE)
    before = state_of(runner)

    def broken(uow: UnitOfWork) -> Outcome:
        orphan = WorkItem(
            id="orphan",
            item_type="task",
            project_id="nowhere",
            parent_id="no-such-parent",
            title="orphan",
            position="V",
            created_at=uow.now,
            created_by=uow.ctx.user_id,
            updated_at=uow.now,
            updated_by=uow.ctx.user_id,
        )
        uow.items.insert(orphan)  # refused by SQLite: FOREIGN KEY constraint failed
        raise AssertionError("unreachable")

    with pytest.raises(InternalError) as caught:
        await runner.command(ALICE, broken)
    assert caught.value.message == "internal error"
    assert "FOREIGN KEY" not in str(caught.value) and "INSERT" not in str(caught.value)
    assert state_of(runner) == before


async def test_same_message_twice_returns_the_first_result(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    ctx = with_message(ALICE, "msg-1")
    args = {"item_type": "task", "parent_id": project["id"], "title": "Once"}
    first = await runner.command(ctx, work_items.create_work_item, **args)
    after_first, sent = state_of(runner), len(published)
    second = await runner.command(ctx, work_items.create_work_item, **args)
    assert second.replayed and second.payload == first.payload and second.seq == first.seq
    assert state_of(runner) == after_first
    assert len(published) == sent


async def test_message_id_reused_for_another_request_is_refused(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    ctx = with_message(ALICE, "msg-2")
    await runner.command(
        ctx, work_items.create_work_item, item_type="task", parent_id=project["id"], title="A"
    )
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(
            ctx, work_items.create_work_item, item_type="task", parent_id=project["id"], title="B"
        )
    assert refusal.error.field == "message_id"


async def test_message_ids_are_per_user(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    boss = ctx_for("boss", roles=("admin",))
    await runner.command(
        with_message(ALICE, "same"),
        work_items.create_work_item,
        item_type="task",
        parent_id=project["id"],
        title="A",
    )
    out = await runner.command(
        with_message(boss, "same"),
        work_items.create_work_item,
        item_type="task",
        parent_id=project["id"],
        title="B",
    )
    assert not out.replayed


async def test_sweeper_removes_expired_keys_only(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    await runner.command(
        with_message(ALICE, "old"),
        work_items.create_work_item,
        item_type="task",
        parent_id=project["id"],
        title="A",
    )
    tenant = runner.tenants.open_sync("acme")

    def sweep(now: int) -> int:
        result = tenant.write_sync(
            lambda s: sweep_tenant(s, now=now, idempotency_ttl_seconds=60, change_retention_days=30)
        )
        return result.idempotency_keys

    assert sweep(now_ms()) == 0
    assert sweep(now_ms() + 61_000) == 1


async def test_sixteen_stale_title_updates_exactly_one_wins(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)

    async def rename(n: int) -> Outcome:
        return await runner.command(
            ALICE,
            work_items.update_work_item,
            work_item_id=task["id"],
            expected_version=1,
            fields={"title": f"t{n}"},
        )

    results = await asyncio.gather(*(rename(n) for n in range(16)), return_exceptions=True)
    assert sum(isinstance(r, Outcome) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 15


async def test_stale_updates_of_different_fields_all_merge(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    fields: list[dict[str, Any]] = [
        {"title": "T"},
        {"priority": "high"},
        {"status": "todo"},
        {"story_points": 5},
        {"description": "D"},
    ]
    results = await asyncio.gather(
        *(
            runner.command(
                ALICE,
                work_items.update_work_item,
                work_item_id=task["id"],
                expected_version=1,
                fields=f,
            )
            for f in fields
        )
    )
    assert all(not r.replayed for r in results)
    final = await item_of(runner, ALICE, task["id"])
    assert (
        final["title"],
        final["priority"],
        final["status"],
        final["story_points"],
        final["description"],
    ) == ("T", "high", "todo", 5, "D")
    assert final["version"] == 6


async def test_no_lost_update_with_1000_read_update_retry_increments(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project, story_points=0)

    async def worker(increments: int) -> None:
        for _ in range(increments):
            while True:
                item = await item_of(runner, ALICE, task["id"])
                try:
                    await runner.command(
                        ALICE,
                        work_items.update_work_item,
                        work_item_id=task["id"],
                        expected_version=item["version"],
                        fields={"story_points": (item["story_points"] or 0) + 1},
                    )
                    break
                except Conflict:
                    continue

    await asyncio.gather(*(worker(100) for _ in range(10)))
    final = await item_of(runner, ALICE, task["id"])
    assert final["story_points"] == 1000


async def test_fifty_writers_over_five_projects_give_gap_free_seq(
    runner: ServiceRunner, published: Published
) -> None:
    projects = [await make_project(runner, ALICE, f"P{n}") for n in range(5)]
    start = state_of(runner)["seq"]

    async def writer(n: int) -> None:
        project = projects[n % 5]
        task = await make_item(runner, ALICE, project, title=f"w{n}")
        if n % 10 == 0:
            await runner.command(
                ALICE, work_items.delete_work_item, work_item_id=task["id"], expected_version=1
            )

    await asyncio.gather(*(writer(n) for n in range(50)))
    seqs = [event.seq for _tenant, event in published if event.seq > start]
    assert sorted(seqs) == list(range(start + 1, start + 56))
    everything = await runner.query(ALICE, get_changes, since_seq=0, limit=10_000)
    feed = [e.seq for e in everything.events]
    assert feed == sorted(feed) and feed == list(range(1, start + 56))
    for since in (0, start, start + 17, start + 54, start + 55):
        later = await runner.query(ALICE, get_changes, since_seq=since, limit=10_000)
        assert [e.seq for e in later.events] == list(range(since + 1, start + 56))
    deletions = [e for e in everything.events if e.payload_name == "work_item_deleted"]
    assert len(deletions) == 5
    by_seq = {event.seq: event for _t, event in published}
    for event in everything.events[-55:]:
        live = by_seq[event.seq]
        assert (event.payload_name, event.payload, event.event_id) == (
            live.payload_name,
            live.payload,
            live.event_id,
        )


async def test_feed_pages_and_filters_by_project(runner: ServiceRunner) -> None:
    a = await make_project(runner, ALICE, "A")
    b = await make_project(runner, ALICE, "B")
    for n in range(5):
        await make_item(runner, ALICE, a, title=f"a{n}")
        await make_item(runner, ALICE, b, title=f"b{n}")
    page = await runner.query(ALICE, get_changes, since_seq=0, project_ids=[a["id"]], limit=3)
    assert page.has_more and len(page.events) == 3 and page.as_of_seq == page.events[-1].seq
    rest = await runner.query(
        ALICE, get_changes, since_seq=page.as_of_seq, project_ids=[a["id"]], limit=100
    )
    titles = [e.payload["work_item"]["title"] for e in page.events + rest.events]
    assert titles == ["A", "a0", "a1", "a2", "a3", "a4"]
    assert not rest.has_more


async def test_feed_past_retention_requires_resync(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    for n in range(3):
        await make_item(runner, ALICE, project, title=f"t{n}")
    tenant = runner.tenants.open_sync("acme")
    swept = tenant.write_sync(
        lambda s: sweep_tenant(
            s, now=now_ms() + 10**9, idempotency_ttl_seconds=86400, change_retention_days=1
        )
    )
    assert swept.change_events == 3
    with pytest.raises(PmError) as caught:
        await runner.query(ALICE, get_changes, since_seq=0)
    assert caught.value.code == "RESYNC_REQUIRED"
    latest = await runner.query(ALICE, get_changes, since_seq=3)
    assert [e.seq for e in latest.events] == [4]


async def test_a_seq_from_the_future_is_answered_resync_required(runner: ServiceRunner) -> None:
    """The feed never issued it: the client holds another history (the file went back in time)
    and must reload; a partial answer would leave it silently wrong."""
    await make_project(runner, ALICE)
    with pytest.raises(PmError) as caught:
        await runner.query(ALICE, get_changes, since_seq=99)
    assert caught.value.code == "RESYNC_REQUIRED"
