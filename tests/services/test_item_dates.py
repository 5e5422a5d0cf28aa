"""Start and due dates on work items (DOMAIN.md, "Everyday fields"): due not before start on
create and on every (merged) update, overdue derived, cleared by the empty string, filtered by a
due-date range (the filter of the search query, text or none) that pages to the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pm.domain.events import Event
from pm.services import search, work_items
from pm.services.kernel.runner import ServiceRunner

from .factories import Refusal, add_member, ctx_for, item_of, make_item, make_project

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]
TODAY = datetime.now(UTC).date()
YESTERDAY, TOMORROW = str(TODAY - timedelta(days=1)), str(TODAY + timedelta(days=1))


async def _update(runner: ServiceRunner, item: dict[str, Any], version: int, **fields: Any) -> Any:
    outcome = await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=item["id"],
        expected_version=version,
        fields=fields,
    )
    return outcome.payload["work_item"]


async def test_dates_are_stored_and_overdue_is_derived(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    late = await make_item(runner, ALICE, project, start_date="2026-01-05", due_date=YESTERDAY)
    assert (late["start_date"], late["due_date"], late["is_overdue"]) == (
        "2026-01-05",
        YESTERDAY,
        True,
    )
    on_time = await make_item(runner, ALICE, project, due_date=str(TODAY))
    assert on_time["is_overdue"] is False  # due today is not overdue yet
    done = await _update(runner, late, 1, status="done")
    assert done["is_overdue"] is False  # finished work is never overdue
    assert (await item_of(runner, ALICE, late["id"]))["is_overdue"] is False


async def test_empty_string_clears_a_date(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project, due_date=TOMORROW)
    cleared = await _update(runner, item, 1, due_date="")
    assert (cleared["due_date"], cleared["version"]) == (None, 2)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start_date": "2026-03-10", "due_date": "2026-03-09"}, "due_date"),
        ({"due_date": "2026-02-30"}, "due_date"),
        ({"start_date": "10/03/2026"}, "start_date"),
        ({"start_date": 20260310}, "start_date"),
    ],
)
async def test_bad_dates_are_refused_on_create(
    runner: ServiceRunner, published: Published, fields: dict[str, Any], field: str
) -> None:
    project = await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await make_item(runner, ALICE, project, **fields)
    assert refusal.error.field == field


async def test_due_before_a_stored_start_is_refused_on_update(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project, start_date="2026-03-10")
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _update(runner, item, 1, due_date="2026-03-01")
    assert refusal.error.field == "due_date"


async def test_due_date_and_start_date_set_by_two_people_at_one_version_both_land(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    bob = await add_member(runner, ALICE, project, "bob", "editor")
    item = await make_item(runner, ALICE, project)
    await _update(runner, item, 1, due_date="2026-03-20")
    merged = await runner.command(
        bob,
        work_items.update_work_item,
        work_item_id=item["id"],
        expected_version=1,
        fields={"start_date": "2026-03-02"},
    )
    view = merged.payload["work_item"]
    assert (view["start_date"], view["due_date"], view["version"]) == (
        "2026-03-02",
        "2026-03-20",
        3,
    )


async def test_a_merged_start_after_the_stored_due_is_refused(
    runner: ServiceRunner, published: Published
) -> None:
    """The rule holds over the merged result, not only the fields one caller sent."""
    project = await make_project(runner, ALICE)
    bob = await add_member(runner, ALICE, project, "bob", "editor")
    item = await make_item(runner, ALICE, project)
    await _update(runner, item, 1, due_date="2026-03-20")
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(
            bob,
            work_items.update_work_item,
            work_item_id=item["id"],
            expected_version=1,
            fields={"start_date": "2026-03-25"},
        )
    assert refusal.error.field == "due_date"


async def test_due_range_filter_pages_to_the_end_with_every_match_once(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    due = {}
    for n in range(1, 31):
        item = await make_item(runner, ALICE, project, title=f"T{n}", due_date=f"2026-04-{n:02d}")
        due[item["id"]] = item["due_date"]
    await make_item(runner, ALICE, project, title="undated")
    seen: list[str] = []
    cursor = None
    while True:
        page = await runner.query(
            ALICE,
            search.search_work_items,
            project_id=project["id"],
            due_from="2026-04-10",
            due_to="2026-04-20",
            limit=4,
            cursor=cursor,
        )
        seen += [hit["work_item"]["id"] for hit in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(due[i] for i in seen) == [f"2026-04-{n}" for n in range(10, 21)]
    assert len(seen) == len(set(seen)) == 11


async def test_a_bad_due_range_is_refused(runner: ServiceRunner, published: Published) -> None:
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.query(ALICE, search.search_work_items, due_from="April")
    assert refusal.error.field == "due_from"
