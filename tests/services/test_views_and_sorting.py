"""Filters over labels, custom fields and dates, sorts with keyset paging over 10,000 items
(every item once, in order), and saved views: the same query code as search, private or shared,
bounded, and what each person may do with them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import insert

from pm.domain.events import Event
from pm.domain.models import ItemFieldValue, ItemLabel, WorkItem
from pm.services import custom_fields, labels, saved_views, search
from pm.services.kernel.runner import ServiceRunner

from .factories import Refusal, add_member, ctx_for, make_item, make_project

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]
COUNT = 10_000


async def _all(runner: ServiceRunner, ctx: Any = ALICE, **spec: Any) -> list[dict[str, Any]]:
    """Every page of a search, in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await runner.query(ctx, search.search_work_items, limit=500, cursor=cursor, **spec)
        items += [dict(hit["work_item"]) for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return items


async def _big_project(runner: ServiceRunner) -> tuple[dict[str, Any], dict[str, Any]]:
    """10,000 items, every third labelled, a number field on every other one, due dates on
    most: written in bulk, as a migration or an import would."""
    project = await make_project(runner, ALICE)
    bug = (
        await runner.command(ALICE, labels.create_label, project_id=project["id"], name="bug")
    ).payload["label"]
    size = (
        await runner.command(
            ALICE,
            custom_fields.create_custom_field,
            project_id=project["id"],
            name="Size",
            field_type="number",
        )
    ).payload["custom_field"]
    rows = [_row(project, n) for n in range(COUNT)]
    marks = [{"item_id": r["id"], "label_id": bug["id"]} for n, r in enumerate(rows) if n % 3 == 0]
    values = [
        {
            "item_id": r["id"],
            "field_id": size["id"],
            "value_number": float(n % 13),
            "searchable": False,
        }
        for n, r in enumerate(rows)
        if n % 2 == 0
    ]
    tenant = await runner.tenants.get(ALICE.tenant_id)

    def write(session: Any) -> None:
        session.execute(insert(WorkItem), rows)
        session.execute(insert(ItemLabel), marks)
        session.execute(insert(ItemFieldValue), values)

    await tenant.write(write)
    return project, {"bug": bug, "size": size, "rows": rows}


def _row(project: dict[str, Any], n: int) -> dict[str, Any]:
    now = 1_760_000_000_000 + (n * 7919) % COUNT  # creation order is not insertion order
    return {
        "id": str(uuid.UUID(int=n + 1)),
        "key": f"{project['key']}-{n + 1}",
        "number": n + 1,
        "item_type": "task",
        "project_id": project["id"],
        "parent_id": project["id"],
        "title": f"Item {n}",
        "description": "",
        "status": ("backlog", "todo", "in_progress", "review", "done")[n % 5],
        "priority": ("low", "medium", "high", "critical")[n % 4],
        "position": f"a{n:06d}",
        "version": 1,
        "created_at": now,
        "created_by": ALICE.user_id,
        "updated_at": now,
        "updated_by": ALICE.user_id,
        "due_date": None if n % 10 == 0 else f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}",
    }


async def test_filters_and_sorts_over_ten_thousand_items_page_to_the_end_in_order(
    runner: ServiceRunner,
) -> None:
    project, made = await _big_project(runner)
    bug, size, rows = made["bug"], made["size"], made["rows"]
    numbered = {r["id"]: n for n, r in enumerate(rows)}
    # a label plus a custom field range plus a due-date range
    found = await _all(
        runner,
        project_id=project["id"],
        labels=["bug"],
        fields=[{"field_id": size["id"], "low": "3", "high": "9"}],
        due_from="2026-03-01",
        due_to="2026-09-30",
    )
    wanted = {
        r["id"]
        for n, r in enumerate(rows)
        if n % 3 == 0
        and n % 2 == 0
        and 3 <= n % 13 <= 9
        and r["due_date"] is not None
        and "2026-03-01" <= r["due_date"] <= "2026-09-30"
    }
    assert len(found) == len({i["id"] for i in found}) == len(wanted) > 100
    assert {i["id"] for i in found} == wanted
    assert all(bug["id"] in i["labels"] for i in found)
    # every item once, in each order asked, missing values last either way
    for sort in (
        "due_date",
        "-due_date",
        f"field:{size['id']}",
        f"-field:{size['id']}",
        "priority",
    ):
        listed = await _all(runner, project_id=project["id"], item_type="task", sort=sort)
        assert len(listed) == len({i["id"] for i in listed}) == COUNT, sort
        keys = [_sort_key(i, sort, size["id"]) for i in listed]
        descending = sort.startswith("-")
        present = [k for k in keys if k is not None]
        assert present == sorted(present, reverse=descending), sort
        assert keys[len(present) :] == [None] * (COUNT - len(present)), sort
        assert numbered  # ids are the rows'


def _sort_key(item: dict[str, Any], sort: str, size_id: str) -> Any:
    if sort.endswith("due_date"):
        return item["due_date"]
    if "field:" in sort:
        return item["custom_fields"].get(size_id)
    return {"critical": 0, "high": 1, "medium": 2, "low": 3}[item["priority"]]


async def test_text_with_a_sort_is_a_filter_in_that_order(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    late = await make_item(runner, ALICE, project, title="rocket late", due_date="2026-09-01")
    early = await make_item(runner, ALICE, project, title="rocket early", due_date="2026-01-01")
    await make_item(runner, ALICE, project, title="other", due_date="2026-02-01")
    listed = await _all(runner, query="rocket", sort="due_date")
    assert [i["id"] for i in listed] == [early["id"], late["id"]]


@pytest.mark.parametrize(
    ("spec", "code", "field"),
    [
        ({"labels": ["nope"]}, "NOT_FOUND", "labels"),
        ({"fields": [{"field_id": "nope", "value": "1"}]}, "NOT_FOUND", "fields"),
        ({"sort": "colour"}, "VALIDATION_ERROR", "sort"),
        ({"sort": "field:nope"}, "NOT_FOUND", "sort"),
    ],
)
async def test_unknown_filters_and_sorts_are_refused(
    runner: ServiceRunner, spec: dict[str, Any], code: str, field: str
) -> None:
    await make_project(runner, ALICE)
    with pytest.raises(Exception) as refused:
        await runner.query(ALICE, search.search_work_items, **spec)
    assert (getattr(refused.value, "code", None), getattr(refused.value, "field", None)) == (
        code,
        field,
    )


async def test_a_field_condition_is_read_by_the_fields_type(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    size = (
        await runner.command(
            ALICE,
            custom_fields.create_custom_field,
            project_id=project["id"],
            name="Size",
            field_type="number",
        )
    ).payload["custom_field"]
    name = f"fields.{size['id']}"
    for condition in ({"value": "many"}, {"low": "nan"}, {"high": "1e999"}, {}):
        with pytest.raises(Exception) as refused:
            await runner.query(
                ALICE, search.search_work_items, fields=[{"field_id": "Size", **condition}]
            )
        assert getattr(refused.value, "field", None) == name, condition
    fine = await make_item(runner, ALICE, project, custom_fields={"Size": 3})
    hits = await _all(runner, fields=[{"field_id": "size", "value": "3"}])
    assert [i["id"] for i in hits] == [fine["id"]]


async def test_filter_conditions_are_bounded(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    await runner.command(ALICE, labels.create_label, project_id=project["id"], name="a")
    bound = runner.settings.views_max_conditions
    with pytest.raises(Exception) as refused:
        await runner.query(ALICE, search.search_work_items, labels=["a"] * (bound + 1))
    assert "views_max_conditions" in str(refused.value)


# -- saved views ----------------------------------------------------------------------------


async def _save(runner: ServiceRunner, ctx: Any, project: dict[str, Any], **more: Any) -> Any:
    outcome = await runner.command(
        ctx, saved_views.save_view, project_id=project["id"], name="Bugs", **more
    )
    return outcome


async def test_a_saved_view_runs_as_the_search_it_holds(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    made = await runner.command(ALICE, labels.create_label, project_id=project["id"], name="bug")
    bug_id = made.payload["label"]["id"]
    tagged = await make_item(runner, ALICE, project, labels=["bug"], due_date="2026-02-01")
    older = await make_item(runner, ALICE, project, labels=["bug"], due_date="2026-01-01")
    await make_item(runner, ALICE, project)
    saved = await _save(
        runner, ALICE, project, filters={"labels": ["bug"]}, sort="due_date", group_by="status"
    )
    view = saved.payload["view"]
    assert (view["filters"], view["sort"], view["group_by"], view["shared"]) == (
        {"labels": [bug_id]},  # kept by id: a renamed label leaves the view as it was
        "due_date",
        "status",
        False,
    )
    await runner.command(
        ALICE, labels.update_label, label_id=bug_id, expected_version=1, name="defect"
    )
    listed = await _all(runner, view_id=view["id"])
    assert [i["id"] for i in listed] == [older["id"], tagged["id"]]
    narrowed = await _all(runner, view_id=view["id"], due_from="2026-01-15")
    assert [i["id"] for i in narrowed] == [tagged["id"]]


async def test_a_private_view_is_its_owners_alone_a_shared_one_the_projects(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    bob = await add_member(runner, ALICE, project, "bob", "editor")
    before = len(published)
    private = (await _save(runner, ALICE, project)).payload["view"]
    assert len(published) == before  # nothing in the project's feed
    shared = await _save(runner, ALICE, project, shared=True)
    assert published[-1][1].payload_name == "view_saved"
    bobs = await runner.query(bob, saved_views.list_views, project_id=project["id"])
    assert [v["id"] for v in bobs["views"]] == [shared.payload["view"]["id"]]
    with pytest.raises(Exception) as refused:
        await _all(runner, bob, view_id=private["id"])
    assert getattr(refused.value, "code", None) == "NOT_FOUND"
    async with Refusal(runner, published, "NOT_FOUND"):
        await runner.command(bob, saved_views.delete_view, view_id=private["id"])
    # bob may not change alice's view: its id is not his to use
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await _save(runner, bob, project, id=private["id"])
    # no longer shared: gone for everyone else
    unshared = await _save(runner, ALICE, project, id=shared.payload["view"]["id"])
    assert unshared.payload["view"]["version"] == 2
    assert published[-1][1].payload_name == "view_deleted"
    assert (await runner.query(bob, saved_views.list_views, project_id=project["id"]))[
        "views"
    ] == []


async def test_viewers_keep_private_views_sharing_takes_an_editor(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    viewer = await add_member(runner, ALICE, project, "vi", "viewer")
    mine = await _save(runner, viewer, project)
    assert mine.payload["view"]["owner_id"] == "vi"
    async with Refusal(runner, published, "FORBIDDEN"):
        await _save(runner, viewer, project, shared=True)
    async with Refusal(runner, published, "NOT_FOUND"):
        await _save(runner, ctx_for("stranger"), project)


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"filters": {"colour": "red"}}, "colour"),
        ({"filters": {"due_from": "2026-13-01"}}, "due_from"),
        ({"sort": "height"}, "sort"),
        ({"group_by": "mood"}, "group_by"),
        ({"name": ""}, "name"),
    ],
)
async def test_bad_views_are_refused_and_nothing_is_written(
    runner: ServiceRunner, published: Published, more: dict[str, Any], field: str
) -> None:
    project = await make_project(runner, ALICE)
    arguments = {"project_id": project["id"], "name": "V"} | more
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(ALICE, saved_views.save_view, **arguments)
    assert refusal.error.field == field


async def test_views_per_person_are_bounded(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    for _ in range(runner.settings.views_max_per_user):
        await _save(runner, ALICE, project)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _save(runner, ALICE, project)
    assert "views_max_per_user" in refusal.error.message
    bob = await add_member(runner, ALICE, project, "bob", "editor")
    assert (await _save(runner, bob, project)).payload["view"]["owner_id"] == "bob"
