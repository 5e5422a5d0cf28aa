"""Short keys (DOMAIN.md "Keys"): project keys given or derived, unique in the tenant; item keys
gap-free per project under concurrent creates, never reused, immutable across moves, and
accepted by every service entry that takes an id."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pm.domain.keys import derive_project_key
from pm.services import (
    changes,
    comments,
    dependencies,
    members,
    search,
    sprints,
    time_entries,
    work_items,
)
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.project_context import project_context
from pm.services.read_models.work_item_detail import work_item_detail

from .factories import Refusal, ctx_for, item_of, make_item, make_project

ALICE = ctx_for("alice")


async def test_a_project_key_is_derived_from_its_title_and_kept_unique(
    runner: ServiceRunner,
) -> None:
    first = await make_project(runner, ALICE, "Apollo")
    second = await make_project(runner, ALICE, "Apollo")
    launch = await make_project(runner, ALICE, "Mobile app launch")
    assert (first["key"], second["key"], launch["key"]) == ("APO", "APO2", "MAL")


@pytest.mark.parametrize(
    ("title", "key"),
    [("Été à Zürich", "EAZ"), ("x", "XX"), ("2024 plans", "PLA"), ("42", "P42"), ("!!!", "PX")],
)
def test_derived_keys_are_valid_keys(title: str, key: str) -> None:
    assert derive_project_key(title, lambda _key: False) == key


async def test_a_given_project_key_is_checked_and_must_be_free(
    runner: ServiceRunner, published: list[Any]
) -> None:
    made = await runner.command(
        ALICE, work_items.create_work_item, item_type="project", title="Whatever", key="gem5"
    )
    assert made.payload["work_item"]["key"] == "GEM5"
    for bad in ("G", "5GEM", "TOOLONGKEY1", "GE-M", "GEM5"):
        async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
            await runner.command(
                ALICE, work_items.create_work_item, item_type="project", title="Again", key=bad
            )
        assert refusal.error.field == "key"
    project = made.payload["work_item"]
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await make_item(runner, ALICE, project, key="ITEM")


async def test_fifty_concurrent_creates_get_fifty_gap_free_keys(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    made = await asyncio.gather(
        *(make_item(runner, ALICE, project, title=f"t{n}") for n in range(50))
    )
    assert sorted(item["key"] for item in made) == sorted(f"APO-{n}" for n in range(1, 51))


async def test_a_key_survives_moves_and_is_never_reused(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    epic = await make_item(runner, ALICE, project, "epic", "Epic")
    task = await make_item(runner, ALICE, project, "task", "Task")
    moved = await runner.command(
        ALICE, work_items.move_work_item, work_item_id="APO-2", parent_id="APO-1", status="done"
    )
    assert moved.payload["work_item"]["key"] == task["key"] == "APO-2"
    assert moved.payload["work_item"]["parent_id"] == epic["id"]
    await runner.command(
        ALICE, work_items.delete_work_item, work_item_id="apo-2", expected_version=2
    )
    after = await make_item(runner, ALICE, project, "task", "After")
    assert after["key"] == "APO-3"


async def test_every_entry_that_takes_an_id_takes_the_key(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    first = await make_item(runner, ALICE, project, "story", "First")
    second = await make_item(runner, ALICE, project, "task", "Second")
    await make_item(runner, ALICE, {"id": "APO-1"}, "task", "Under")
    child = await runner.command(
        ALICE, work_items.create_work_item, item_type="task", title="In APO", project_id="APO"
    )
    assert child.payload["work_item"]["parent_id"] == project["id"]
    updated = await runner.command(
        ALICE, work_items.update_work_item, work_item_id="APO-2", fields={"priority": "high"}
    )
    assert updated.payload["work_item"]["id"] == second["id"]
    await runner.command(ALICE, work_items.move_work_item, work_item_id="APO-2", after_id="APO-4")
    await runner.command(ALICE, comments.create_comment, work_item_id="APO-1", content="hi")
    await runner.command(ALICE, time_entries.log_time, work_item_id="APO-1", minutes=5)
    dep = await runner.command(
        ALICE, dependencies.create_dependency, blocking_item_id="APO-1", blocked_item_id="APO-2"
    )
    assert dep.payload["dependency"]["blocking_item_id"] == first["id"]
    sprint = await runner.command(ALICE, sprints.create_sprint, project_id="APO", name="S1")
    assert sprint.payload["sprint"]["project_id"] == project["id"]
    await runner.command(ALICE, members.add_member, project_id="apo", user_id="bob", role="viewer")
    reads: list[Any] = [
        await runner.query(ALICE, work_item_detail, work_item_id="APO-1"),
        await runner.query(ALICE, comments.get_comments, work_item_id="APO-1"),
        await runner.query(ALICE, dependencies.get_dependencies, work_item_id="APO-2"),
        await runner.query(ALICE, time_entries.get_time_entries, work_item_id="APO-1"),
        await runner.query(ALICE, project_context, project_id="APO"),
        await runner.query(ALICE, members.list_members, project_id="APO"),
        await runner.query(ALICE, search.search_work_items, project_id="APO"),
        await runner.query(ALICE, changes.get_changes, since_seq=0, project_ids=["APO"]),
    ]
    assert all(reads)
    assert (await item_of(runner, ALICE, "APO-2"))["is_blocked"] is True


async def test_a_key_of_another_project_or_tenant_is_not_found(
    runner: ServiceRunner, published: list[Any]
) -> None:
    project = await make_project(runner, ALICE)
    await make_item(runner, ALICE, project)
    stranger = ctx_for("mallory", tenant_id="globex")
    theirs = await make_project(runner, stranger, "Apollo")  # APO in its own tenant
    outsider = ctx_for("eve")
    async with Refusal(runner, published, "NOT_FOUND"):
        await runner.command(
            outsider, work_items.update_work_item, work_item_id="APO-1", fields={"title": "x"}
        )
    listed = await runner.query(stranger, search.search_work_items, project_id="APO")
    assert [hit["work_item"]["id"] for hit in listed.items] == [theirs["id"]]
