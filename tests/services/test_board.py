"""Dependencies, swim lanes, members and activity."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import text
from sqlmodel import Session

from pm.domain.events import Event
from pm.errors import NotFound
from pm.services import activity, dependencies, members, swim_lanes, work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.projects import project_items_as_of, project_snapshot

from .factories import Refusal, add_member, ctx_for, item_of, make_item, make_project

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]


async def _dep(runner: ServiceRunner, a: dict, b: dict, kind: str = "blocks") -> dict:  # type: ignore[type-arg]
    out = await runner.command(
        ALICE,
        dependencies.create_dependency,
        blocking_item_id=a["id"],
        blocked_item_id=b["id"],
        dependency_type=kind,
    )
    return out.payload["dependency"]  # type: ignore[no-any-return]


async def test_blocked_until_the_blocker_is_done(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    a, b = [await make_item(runner, ALICE, project, title=t) for t in "ab"]
    await _dep(runner, a, b)
    deps = await runner.query(ALICE, dependencies.get_dependencies, work_item_id=b["id"])
    other = deps["blocking"][0]["other_item"]
    assert deps["is_blocked"] and other is not None and other["id"] == a["id"]
    await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=a["id"],
        expected_version=1,
        fields={"status": "done"},
    )
    assert not (await item_of(runner, ALICE, b["id"]))["is_blocked"]


async def test_cycle_is_refused_with_its_path(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    a, b, c = [await make_item(runner, ALICE, project, title=t) for t in "abc"]
    await _dep(runner, a, b)
    await _dep(runner, b, c)
    async with Refusal(runner, published, "CYCLE_DETECTED") as refusal:
        await _dep(runner, c, a)
    assert refusal.error.path == [a["id"], b["id"], c["id"], a["id"]]
    await _dep(runner, c, a, "relates_to")


async def test_self_and_duplicate_dependencies_refused(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    a, b = [await make_item(runner, ALICE, project, title=t) for t in "ab"]
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await _dep(runner, a, a)
    await _dep(runner, a, b)
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await _dep(runner, a, b)


async def test_long_chain_cycle_check(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    chain = [await make_item(runner, ALICE, project, title=f"c{n}") for n in range(30)]
    for left, right in itertools.pairwise(chain):
        await _dep(runner, left, right)
    async with Refusal(runner, published, "CYCLE_DETECTED") as refusal:
        await _dep(runner, chain[-1], chain[0])
    assert len(refusal.error.path) == 31


async def test_delete_dependency(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    a, b = [await make_item(runner, ALICE, project, title=t) for t in "ab"]
    dep = await _dep(runner, a, b)
    out = await runner.command(ALICE, dependencies.delete_dependency, dependency_id=dep["id"])
    assert out.payload == {"dependency_id": dep["id"], "project_id": project["id"]}
    assert not (await runner.query(ALICE, dependencies.get_dependencies, work_item_id=b["id"]))[
        "is_blocked"
    ]


async def test_lanes_one_per_status_and_defaults_not_deleted(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    lanes = (await runner.query(ALICE, project_snapshot, project_id=project["id"]))["swim_lanes"]
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE,
            swim_lanes.create_swim_lane,
            project_id=project["id"],
            name="More",
            status_value="todo",
        )
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(ALICE, swim_lanes.delete_swim_lane, swim_lane_id=lanes[0]["id"])
    backlog = (
        await runner.command(
            ALICE,
            swim_lanes.create_swim_lane,
            project_id=project["id"],
            name="Backlog",
            status_value="backlog",
        )
    ).payload["swim_lane"]
    await runner.command(ALICE, swim_lanes.delete_swim_lane, swim_lane_id=backlog["id"])
    again = await runner.command(
        ALICE,
        swim_lanes.create_swim_lane,
        project_id=project["id"],
        name="Backlog",
        status_value="backlog",
    )
    assert again.payload["swim_lane"]["status_value"] == "backlog"


async def test_lanes_rename_and_reorder(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    lanes = (await runner.query(ALICE, project_snapshot, project_id=project["id"]))["swim_lanes"]
    done = lanes[3]
    await runner.command(
        ALICE,
        swim_lanes.update_swim_lane,
        swim_lane_id=done["id"],
        expected_version=1,
        name="Shipped",
        before_id=lanes[0]["id"],
    )
    names = [
        lane["name"]
        for lane in (await runner.query(ALICE, project_snapshot, project_id=project["id"]))[
            "swim_lanes"
        ]
    ]
    assert names == ["Shipped", "To Do", "In Progress", "Review"]


async def test_editor_cannot_manage_lanes(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    ed = await add_member(runner, ALICE, project, "ed", "editor")
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(
            ed,
            swim_lanes.create_swim_lane,
            project_id=project["id"],
            name="B",
            status_value="backlog",
        )


async def test_members_add_change_remove_and_last_admin(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    await add_member(runner, ALICE, project, "ed", "editor")
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE, members.add_member, project_id=project["id"], user_id="ed", role="viewer"
        )
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE,
            members.update_member_role,
            project_id=project["id"],
            user_id="alice",
            role="editor",
        )
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE, members.remove_member, project_id=project["id"], user_id="alice"
        )
    await runner.command(
        ALICE, members.update_member_role, project_id=project["id"], user_id="ed", role="admin"
    )
    await runner.command(
        ALICE, members.update_member_role, project_id=project["id"], user_id="alice", role="viewer"
    )
    await runner.command(
        ctx_for("ed"), members.remove_member, project_id=project["id"], user_id="alice"
    )
    await runner.command(
        ctx_for("ed"), members.add_member, project_id=project["id"], user_id="alice", role="editor"
    )
    listed = await runner.query(ctx_for("ed"), members.list_members, project_id=project["id"])
    assert sorted((m["user_id"], m["role"]) for m in listed["members"]) == [
        ("alice", "editor"),
        ("ed", "admin"),
    ]

    def rows(session: Session) -> int:
        count = session.connection().execute(text("SELECT count(*) FROM project_members"))
        return int(count.scalar_one())

    assert runner.tenants.open_sync("acme").read_sync(rows) == 2


async def test_removed_member_loses_access(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    ed = await add_member(runner, ALICE, project, "ed", "editor")
    await runner.command(ALICE, members.remove_member, project_id=project["id"], user_id="ed")
    with pytest.raises(NotFound):
        (await runner.query(ed, project_items_as_of, project_id=project["id"]))["work_items"]


async def test_activity_filters_pages_and_hides_other_projects(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    secret = await make_project(runner, ctx_for("bob"), "Secret")
    task = await make_item(runner, ALICE, project)
    for n in range(4):
        await runner.command(
            ALICE,
            work_items.update_work_item,
            work_item_id=task["id"],
            expected_version=n + 1,
            fields={"title": f"v{n}"},
        )
    entries, cursor = [], None
    while True:
        page = await runner.query(
            ALICE, activity.get_activity, limit=2, cursor=cursor, entity_id=task["id"]
        )
        entries += page.items
        if (cursor := page.next_cursor) is None:
            break
    assert [e["new_value"] for e in entries] == ["v3", "v2", "v1", "v0", None]
    everything = await runner.query(ALICE, activity.get_activity, limit=500)
    assert secret["id"] not in {e["project_id"] for e in everything.items}
    with pytest.raises(NotFound):
        await runner.query(ALICE, activity.get_activity, limit=10, project_id=secret["id"])
