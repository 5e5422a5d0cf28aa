"""Every work-item rule of DOMAIN.md, through the service layer on a real tenant file."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text

from pm.domain.events import Event
from pm.services import dependencies, search, sprints, work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.projects import list_projects, project_items_as_of, project_snapshot

from .factories import Refusal, add_member, ctx_for, item_of, make_item, make_project

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]


async def _update(runner: ServiceRunner, item: dict[str, Any], version: int, **fields: Any) -> Any:
    return await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=item["id"],
        expected_version=version,
        fields=fields,
    )


async def test_creating_a_project_makes_creator_admin_and_default_lanes(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    lanes = (await runner.query(ALICE, project_snapshot, project_id=project["id"]))["swim_lanes"]
    assert [(lane["name"], lane["status_value"]) for lane in lanes] == [
        ("To Do", "todo"),
        ("In Progress", "in_progress"),
        ("Review", "review"),
        ("Done", "done"),
    ]
    from pm.services.members import list_members

    members = await runner.query(ALICE, list_members, project_id=project["id"])
    assert [(m["user_id"], m["role"]) for m in members] == [("alice", "admin")]
    assert project["project_id"] == project["id"] and project["version"] == 1


async def test_item_defaults_and_trimmed_title(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project, title="  Write tests  ")
    assert task["title"] == "Write tests"
    assert (task["status"], task["priority"], task["version"]) == ("backlog", "medium", 1)
    assert task["project_id"] == project["id"] and task["parent_id"] == project["id"]


@pytest.mark.parametrize(
    ("item_type", "parent_type", "allowed"),
    [
        ("epic", "project", True),
        ("story", "project", True),
        ("story", "epic", True),
        ("task", "story", True),
        ("task", "epic", True),
        ("epic", "epic", False),
        ("epic", "story", False),
        ("story", "story", False),
        ("story", "task", False),
        ("task", "task", False),
    ],
)
async def test_parent_type_rules(
    runner: ServiceRunner, published: Published, item_type: str, parent_type: str, allowed: bool
) -> None:
    project = await make_project(runner, ALICE)
    chain = {"project": project}
    chain["epic"] = await make_item(runner, ALICE, project, "epic")
    chain["story"] = await make_item(runner, ALICE, chain["epic"], "story")
    chain["task"] = await make_item(runner, ALICE, chain["story"], "task")
    if allowed:
        item = await make_item(runner, ALICE, chain[parent_type], item_type)
        assert item["parent_id"] == chain[parent_type]["id"]
    else:
        async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
            await make_item(runner, ALICE, chain[parent_type], item_type)
        assert refusal.error.field == "parent_id"


async def test_non_project_needs_a_parent(runner: ServiceRunner, published: Published) -> None:
    await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(ALICE, work_items.create_work_item, item_type="task", title="x")


async def test_project_cannot_have_a_parent(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await make_item(runner, ALICE, project, "project")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 50_001}, "description"),
        ({"status": "doing"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"story_points": 1001}, "story_points"),
        ({"story_points": -1}, "story_points"),
        ({"story_points": True}, "story_points"),
        ({"assignee_id": "nobody"}, "assignee_id"),
        ({"sprint_id": "no-such-sprint"}, "sprint_id"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_fields_are_refused_and_write_nothing(
    runner: ServiceRunner, published: Published, fields: dict[str, Any], field: str
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    async with Refusal(
        runner,
        published,
        "NOT_FOUND" if field in ("assignee_id", "sprint_id") else "VALIDATION_ERROR",
    ) as refusal:
        await _update(runner, task, 1, **fields)
    assert refusal.error.field == field


async def test_update_records_one_activity_row_per_changed_field(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project, title="Old")
    out = await _update(runner, task, 1, title="New", priority="high", status="backlog")
    assert out.payload["work_item"]["version"] == 2
    assert {c["field"] for c in out.payload["changes"]} == {"title", "priority"}

    def rows(session: Any) -> list[tuple[Any, ...]]:
        return list(
            session.connection().execute(
                text(
                    "SELECT field_name, old_value, new_value, version, seq FROM activity_log "
                    "WHERE entity_id = :id AND action = 'updated' ORDER BY field_name"
                ),
                {"id": task["id"]},
            )
        )

    found = runner.tenants.open_sync("acme").read_sync(rows)
    assert [r[:4] for r in found] == [("priority", "medium", "high", 2), ("title", "Old", "New", 2)]
    assert {r[4] for r in found} == {out.seq}


async def test_noop_update_writes_nothing_and_keeps_version(
    runner: ServiceRunner, published: Published
) -> None:
    from .factories import state_of

    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project, title="Same")
    before, sent = state_of(runner), len(published)
    out = await _update(runner, task, 1, title="Same", status="backlog")
    assert out.payload["changes"] == [] and out.seq is None
    assert out.payload["work_item"]["version"] == 1
    assert state_of(runner) == before and len(published) == sent


async def test_stale_update_of_other_field_merges(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    await _update(runner, task, 1, title="Theirs")
    out = await _update(runner, task, 1, priority="critical")
    assert out.payload["work_item"]["title"] == "Theirs"
    assert out.payload["work_item"]["priority"] == "critical"
    assert out.payload["work_item"]["version"] == 3


async def test_stale_update_of_same_field_conflicts_with_details(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project, title="Original")
    await _update(runner, task, 1, title="Theirs")
    async with Refusal(runner, published, "CONFLICT") as refusal:
        await _update(runner, task, 1, title="Mine", priority="low")
    error = refusal.error
    assert error.current_version == 2
    assert error.current["title"] == "Theirs"
    assert [vars(c) for c in error.conflicts] == [
        {"field": "title", "seen": "Original", "stored": "Theirs", "attempted": "Mine"}
    ]


async def test_stale_update_to_the_stored_value_still_conflicts(
    runner: ServiceRunner, published: Published
) -> None:
    """Two increments from the same read must not collapse into one silently."""
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project, story_points=1)
    await _update(runner, task, 1, story_points=2)
    async with Refusal(runner, published, "CONFLICT"):
        await _update(runner, task, 1, story_points=2)


async def test_version_from_the_future_conflicts(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    async with Refusal(runner, published, "CONFLICT"):
        await _update(runner, task, 7, title="x")


async def test_empty_string_clears_a_reference(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project, assignee_id="alice")
    assert task["assignee_id"] == "alice"
    out = await _update(runner, task, 1, assignee_id="")
    assert out.payload["work_item"]["assignee_id"] is None


async def test_items_join_only_open_sprints_of_their_project(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    other = await make_project(runner, ALICE, "Other")
    task = await make_item(runner, ALICE, project)
    foreign = await runner.command(ALICE, sprints.create_sprint, project_id=other["id"], name="S")
    async with Refusal(runner, published, "NOT_FOUND"):
        await _update(runner, task, 1, sprint_id=foreign.payload["sprint"]["id"])
    own = (
        await runner.command(ALICE, sprints.create_sprint, project_id=project["id"], name="S")
    ).payload["sprint"]
    await runner.command(ALICE, sprints.cancel_sprint, sprint_id=own["id"], expected_version=1)
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await _update(runner, task, 1, sprint_id=own["id"])


async def _siblings(runner: ServiceRunner, parent_id: str) -> list[str]:
    items = (await runner.query(ALICE, project_items_as_of, project_id=parent_id))["work_items"]
    ordered = sorted((i for i in items if i["parent_id"] == parent_id), key=lambda i: i["position"])
    return [i["title"] for i in ordered]


async def test_move_between_siblings_writes_only_the_moved_item(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    a, b, c = [await make_item(runner, ALICE, project, title=t) for t in "abc"]
    before = {i["id"]: (i["version"], i["position"]) for i in (a, b)}
    out = await runner.command(
        ALICE, work_items.move_work_item, work_item_id=c["id"], expected_version=1, after_id=a["id"]
    )
    assert await _siblings(runner, project["id"]) == ["a", "c", "b"]
    assert [ch["field"] for ch in out.payload["changes"]] == ["position"]
    items = (await runner.query(ALICE, project_items_as_of, project_id=project["id"]))["work_items"]
    after = {i["id"]: (i["version"], i["position"]) for i in items if i["id"] in before}
    assert after == before


async def test_move_before_first_and_to_new_parent_and_status(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    epic = await make_item(runner, ALICE, project, "epic", title="E")
    a = await make_item(runner, ALICE, project, title="a")
    await runner.command(
        ALICE,
        work_items.move_work_item,
        work_item_id=a["id"],
        expected_version=1,
        before_id=epic["id"],
    )
    assert await _siblings(runner, project["id"]) == ["a", "E"]
    out = await runner.command(
        ALICE,
        work_items.move_work_item,
        work_item_id=a["id"],
        expected_version=2,
        parent_id=epic["id"],
        status="in_progress",
    )
    moved = out.payload["work_item"]
    assert (moved["parent_id"], moved["status"], moved["version"]) == (epic["id"], "in_progress", 3)


async def test_move_under_itself_or_descendant_is_refused(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    epic = await make_item(runner, ALICE, project, "epic")
    story = await make_item(runner, ALICE, epic, "story")
    task = await make_item(runner, ALICE, story, "task")
    other_story = await make_item(runner, ALICE, project, "story")
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE,
            work_items.move_work_item,
            work_item_id=story["id"],
            expected_version=1,
            parent_id=story["id"],
        )
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE,
            work_items.move_work_item,
            work_item_id=other_story["id"],
            expected_version=1,
            parent_id=task["id"],
        )


async def test_order_holds_after_2000_moves_to_the_same_spot(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    first = await make_item(runner, ALICE, project, title="first")
    last = await make_item(runner, ALICE, project, title="last")
    movers = [await make_item(runner, ALICE, project, title=f"m{n}") for n in range(2)]
    versions = {m["id"]: 1 for m in movers}
    expected = ["first", "m0", "m1", "last"]
    for n in range(2000):
        mover = movers[n % 2]
        out = await runner.command(
            ALICE,
            work_items.move_work_item,
            work_item_id=mover["id"],
            expected_version=versions[mover["id"]],
            after_id=first["id"],
        )
        for event in out.events:  # a rebalance bumps the siblings it respaces
            changed = event.payload["work_item"]
            versions[changed["id"]] = changed["version"]
        expected = ["first", mover["title"], *[t for t in expected[1:] if t != mover["title"]]]
    titles = await _siblings(runner, project["id"])
    assert titles == expected
    items = (await runner.query(ALICE, project_items_as_of, project_id=project["id"]))["work_items"]
    assert max(len(i["position"]) for i in items) <= 64
    assert last["id"] in {i["id"] for i in items}


async def test_delete_with_live_children_is_blocked(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    epic = await make_item(runner, ALICE, project, "epic")
    await make_item(runner, ALICE, epic, "story")
    await make_item(runner, ALICE, epic, "task")
    async with Refusal(runner, published, "DELETE_BLOCKED") as refusal:
        await runner.command(
            ALICE, work_items.delete_work_item, work_item_id=epic["id"], expected_version=1
        )
    assert "2 live child items" in refusal.error.message


async def test_delete_hides_item_and_soft_deletes_dependencies(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    a = await make_item(runner, ALICE, project, title="a")
    b = await make_item(runner, ALICE, project, title="b")
    await runner.command(
        ALICE, dependencies.create_dependency, blocking_item_id=a["id"], blocked_item_id=b["id"]
    )
    assert (await item_of(runner, ALICE, b["id"]))["is_blocked"]
    out = await runner.command(
        ALICE, work_items.delete_work_item, work_item_id=a["id"], expected_version=1
    )
    assert out.payload_name == "work_item_deleted"
    from pm.errors import NotFound

    with pytest.raises(NotFound):
        await item_of(runner, ALICE, a["id"])
    items = (await runner.query(ALICE, project_items_as_of, project_id=project["id"]))["work_items"]
    assert "a" not in [i["title"] for i in items]
    assert not (await item_of(runner, ALICE, b["id"]))["is_blocked"]
    deps = await runner.query(ALICE, dependencies.get_dependencies, work_item_id=b["id"])
    assert deps["blocking"] == []


async def test_delete_with_stale_version_conflicts(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    await _update(runner, task, 1, title="changed")
    async with Refusal(runner, published, "CONFLICT"):
        await runner.command(
            ALICE, work_items.delete_work_item, work_item_id=task["id"], expected_version=1
        )


async def test_client_supplied_id_is_used_and_reuse_refused(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    item_id = "4f9b1c2e-5d6a-4b7c-8d9e-0f1a2b3c4d5e"
    task = await make_item(runner, ALICE, project, id=item_id)
    assert task["id"] == item_id
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await make_item(runner, ALICE, project, id=item_id)
    assert refusal.error.field == "id"


async def test_list_filters_and_paginates_to_the_end(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    for n in range(7):
        await make_item(
            runner, ALICE, project, title=f"find me {n}", status="todo" if n % 2 else "done"
        )
    await make_item(runner, ALICE, project, title="other")
    seen, cursor = [], None
    while True:
        page = await runner.query(
            ALICE,
            search.search_work_items,
            limit=3,
            cursor=cursor,
            project_id=project["id"],
            query="find",
        )
        seen += [hit["work_item"]["title"] for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == [f"find me {n}" for n in range(7)]
    todo = await runner.query(
        ALICE,
        search.search_work_items,
        project_id=project["id"],
        status="todo",
    )
    assert {hit["work_item"]["title"] for hit in todo.items} == {
        "find me 1",
        "find me 3",
        "find me 5",
    }


async def test_bad_cursor_and_limit_are_refused_and_a_large_limit_capped(
    runner: ServiceRunner,
) -> None:
    """The service applies its own bounds, whatever door asked."""
    from pm.errors import ValidationFailed

    small = replace(runner.settings, default_page_size=1, max_page_size=2)
    bounded = ServiceRunner(runner.tenants, runner.bus, small)
    project = await make_project(runner, ALICE)
    for n in range(3):
        await make_item(runner, ALICE, project, title=f"t{n}")

    async def listed(**page: Any) -> Any:
        return await bounded.query(
            ALICE, search.search_work_items, project_id=project["id"], **page
        )

    capped = await listed(limit=10_000)
    assert len(capped.items) == 2 and capped.next_cursor is not None
    assert len((await listed()).items) == 1
    for bad in (-1, True, "10"):
        with pytest.raises(ValidationFailed) as caught:
            await listed(limit=bad)
        assert caught.value.field == "limit"
    with pytest.raises(ValidationFailed) as caught:
        await listed(limit=10, cursor="!!!not-a-cursor")
    assert caught.value.field == "cursor"


async def test_viewer_reads_but_cannot_edit(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    viewer = await add_member(runner, ALICE, project, "vera", "viewer")
    assert (await item_of(runner, viewer, task["id"]))["id"] == task["id"]
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(
            viewer,
            work_items.update_work_item,
            work_item_id=task["id"],
            expected_version=1,
            fields={"title": "x"},
        )


async def test_non_member_cannot_learn_a_project_exists(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    task = await make_item(runner, ALICE, project)
    mallory = ctx_for("mallory")
    assert await runner.query(mallory, list_projects) == []
    from pm.errors import NotFound

    with pytest.raises(NotFound):
        await item_of(runner, mallory, task["id"])
    async with Refusal(runner, published, "NOT_FOUND"):
        await make_item(runner, mallory, project)


async def test_tenant_admin_role_sees_every_project(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    boss = ctx_for("boss", roles=("admin",))
    assert [p["id"] for p in await runner.query(boss, list_projects)] == [project["id"]]
    await make_item(runner, boss, project)


async def test_appending_after_a_too_long_key_respaces_the_siblings(runner: ServiceRunner) -> None:
    """Keys at the end of a long list grow slowly; when they pass the bound, the next append
    respaces the siblings in the same transaction instead of writing an ever longer key."""
    project = await make_project(runner, ALICE)
    children = [await make_item(runner, ALICE, project, title=f"c{n}") for n in range(3)]
    long_key = "z" * 48 + "1"
    await runner.tenants.write(
        ALICE.tenant_id,
        lambda session: session.connection().execute(
            text("UPDATE work_items SET position = :key WHERE id = :id"),
            {"key": long_key, "id": children[-1]["id"]},
        ),
    )
    out = await make_item(runner, ALICE, project, title="appended")
    assert len(out["position"]) <= 4
    assert await _siblings(runner, project["id"]) == ["c0", "c1", "c2", "appended"]
