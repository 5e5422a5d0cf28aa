"""Labels and typed custom fields (DOMAIN.md "Everyday fields"): their definitions and who may
manage them, values checked by type (every refusal writes nothing), required fields, deletes
that converge, the field-level merge of concurrent edits at one version, and text values in
the full-text search."""

from __future__ import annotations

from typing import Any

import pytest

from pm.domain.events import Event
from pm.services import custom_fields, labels, search, work_items
from pm.services.kernel.runner import ServiceRunner

from .factories import Refusal, add_member, ctx_for, item_of, make_item, make_project, with_message

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]


async def _label(runner: ServiceRunner, project: dict[str, Any], name: str, **more: Any) -> Any:
    outcome = await runner.command(
        ALICE, labels.create_label, project_id=project["id"], name=name, **more
    )
    return outcome.payload["label"]


async def _field(
    runner: ServiceRunner, project: dict[str, Any], name: str, field_type: str, **more: Any
) -> Any:
    outcome = await runner.command(
        ALICE,
        custom_fields.create_custom_field,
        project_id=project["id"],
        name=name,
        field_type=field_type,
        **more,
    )
    return outcome.payload["custom_field"]


async def _update(
    runner: ServiceRunner, item: dict[str, Any], version: int, **fields: Any
) -> dict[str, Any]:
    outcome = await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=item["id"],
        expected_version=version,
        fields=fields,
    )
    return outcome.payload["work_item"]  # type: ignore[no-any-return]


# -- labels ---------------------------------------------------------------------------------


async def test_a_label_name_is_unique_in_its_project_whatever_the_case(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    bug = await _label(runner, project, "Bug", colour="#FF0000")
    assert (bug["name"], bug["colour"], bug["version"]) == ("Bug", "#ff0000", 1)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _label(runner, project, " bUG ")
    assert refusal.error.field == "name"
    other = await make_project(runner, ALICE, "Other")
    assert (await _label(runner, other, "bug"))["name"] == "bug"  # another project's own


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 51}, "name"),
        ({"name": "ok", "colour": "red"}, "colour"),
        ({"name": "ok", "colour": "#12345"}, "colour"),
    ],
)
async def test_bad_labels_are_refused(
    runner: ServiceRunner, published: Published, fields: dict[str, Any], field: str
) -> None:
    project = await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(ALICE, labels.create_label, project_id=project["id"], **fields)
    assert refusal.error.field == field


async def test_editors_manage_labels_viewers_do_not(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    editor = await add_member(runner, ALICE, project, "ed", "editor")
    viewer = await add_member(runner, ALICE, project, "vi", "viewer")
    made = await runner.command(editor, labels.create_label, project_id=project["id"], name="ui")
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(viewer, labels.create_label, project_id=project["id"], name="x")
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(viewer, labels.delete_label, label_id=made.payload["label"]["id"])
    async with Refusal(runner, published, "NOT_FOUND"):
        await runner.command(
            ctx_for("stranger"), labels.delete_label, label_id=made.payload["label"]["id"]
        )


async def test_labels_per_project_are_bounded(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    for n in range(runner.settings.labels_max_per_project):
        await _label(runner, project, f"l{n}")
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _label(runner, project, "one more")
    assert "labels_max_per_project" in refusal.error.message


async def test_items_take_labels_by_id_or_name_and_a_deleted_label_leaves_them(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    bug, ui = await _label(runner, project, "Bug"), await _label(runner, project, "UI")
    item = await make_item(runner, ALICE, project, labels=["bug", ui["id"]])
    assert item["labels"] == sorted([bug["id"], ui["id"]])
    assert (await item_of(runner, ALICE, item["id"]))["labels"] == item["labels"]
    async with Refusal(runner, published, "NOT_FOUND") as refusal:
        await make_item(runner, ALICE, project, labels=["nope"])
    assert refusal.error.field == "labels"
    deleted = await runner.command(ALICE, labels.delete_label, label_id=bug["id"])
    assert deleted.payload == {"label_id": bug["id"], "project_id": project["id"]}
    assert published[-1][1].payload_name == "label_deleted"
    assert (await item_of(runner, ALICE, item["id"]))["labels"] == [ui["id"]]
    assert (await _label(runner, project, "bug"))["name"] == "bug"  # the name is free again


async def test_label_add_and_remove_are_set_changes_recorded_in_activity(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    bug, ui = await _label(runner, project, "Bug"), await _label(runner, project, "UI")
    item = await make_item(runner, ALICE, project)
    added = await _update(runner, item, 1, add_labels=["Bug", "UI"])
    assert (added["labels"], added["version"]) == (sorted([bug["id"], ui["id"]]), 2)
    again = await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=item["id"],
        expected_version=2,
        fields={"add_labels": ["bug"]},
    )
    assert again.payload["changes"] == [] and again.seq is None  # nothing changed, no event
    removed = await _update(runner, item, 2, remove_labels=[bug["id"]])
    assert (removed["labels"], removed["version"]) == ([ui["id"]], 3)


# -- custom fields --------------------------------------------------------------------------


async def test_only_admins_manage_custom_fields(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    editor = await add_member(runner, ALICE, project, "ed", "editor")
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(
            editor,
            custom_fields.create_custom_field,
            project_id=project["id"],
            name="Points",
            field_type="number",
        )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"field_type": "colour"}, "field_type"),
        ({"field_type": "select"}, "options"),  # a select needs options
        ({"field_type": "select", "options": ["a", "a"]}, "options"),
        ({"field_type": "text", "options": ["a"]}, "options"),
        ({"field_type": "select", "options": [""]}, "options"),
        ({"field_type": "number", "required": "yes"}, "required"),
    ],
)
async def test_bad_custom_fields_are_refused(
    runner: ServiceRunner, published: Published, fields: dict[str, Any], field: str
) -> None:
    project = await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(
            ALICE,
            custom_fields.create_custom_field,
            project_id=project["id"],
            name="F",
            **fields,
        )
    assert refusal.error.field == field


VALID = [
    ("text", {}, "  hello  ", "hello"),
    ("number", {}, 3, 3.0),
    ("number", {}, -2.5, -2.5),
    ("date", {}, "2026-02-28", "2026-02-28"),
    ("select", {"options": ["low", "high"]}, "high", "high"),
    ("multi_select", {"options": ["a", "b", "c"]}, ["c", "a", "c"], ["a", "c"]),
    ("user", {}, "alice", "alice"),
    ("url", {}, "https://example.com/x?y=1", "https://example.com/x?y=1"),
]
INVALID = [
    ("text", {}, "x" * 2001),
    ("text", {}, 5),
    ("number", {}, "3"),
    ("number", {}, True),
    ("number", {}, float("nan")),
    ("number", {}, float("inf")),
    ("date", {}, "2026-02-30"),
    ("date", {}, "28/02/2026"),
    ("select", {"options": ["low", "high"]}, "medium"),
    ("select", {"options": ["low", "high"]}, ["low"]),
    ("multi_select", {"options": ["a", "b"]}, ["a", "z"]),
    ("multi_select", {"options": ["a", "b"]}, "a"),
    ("multi_select", {"options": ["a", "b"]}, ["a"] * 3),
    ("user", {}, "nobody"),
    ("url", {}, "ftp://example.com/"),
    ("url", {}, "javascript:alert(1)"),
    ("url", {}, "https://" + "x" * 2050),
    ("url", {}, "https://exa mple.com/"),
]


@pytest.mark.parametrize(("field_type", "more", "given", "stored"), VALID)
async def test_each_field_type_takes_its_values(
    runner: ServiceRunner, field_type: str, more: dict[str, Any], given: Any, stored: Any
) -> None:
    project = await make_project(runner, ALICE)
    custom = await _field(runner, project, "F", field_type, **more)
    item = await make_item(runner, ALICE, project, custom_fields={custom["id"]: given})
    assert item["custom_fields"] == {custom["id"]: stored}
    assert (await item_of(runner, ALICE, item["id"]))["custom_fields"] == {custom["id"]: stored}
    by_name = await make_item(runner, ALICE, project, custom_fields={"f": given})
    assert by_name["custom_fields"] == {custom["id"]: stored}


@pytest.mark.parametrize(("field_type", "more", "given"), INVALID)
async def test_each_field_type_refuses_other_values_and_writes_nothing(
    runner: ServiceRunner, published: Published, field_type: str, more: dict[str, Any], given: Any
) -> None:
    project = await make_project(runner, ALICE)
    custom = await _field(runner, project, "F", field_type, **more)
    item = await make_item(runner, ALICE, project)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await make_item(runner, ALICE, project, custom_fields={custom["id"]: given})
    assert refusal.error.field == f"custom_fields.{custom['id']}"
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _update(runner, item, 1, custom_fields={custom["id"]: given})
    assert refusal.error.field == f"custom_fields.{custom['id']}"


async def test_an_unknown_field_or_another_projects_is_refused(
    runner: ServiceRunner, published: Published
) -> None:
    project, other = await make_project(runner, ALICE), await make_project(runner, ALICE, "B")
    theirs = await _field(runner, other, "F", "text")
    for ref in ("nope", theirs["id"]):
        async with Refusal(runner, published, "NOT_FOUND") as refusal:
            await make_item(runner, ALICE, project, custom_fields={ref: "x"})
        assert refusal.error.field.startswith("custom_fields.")


async def test_a_required_field_is_asked_on_create_and_cant_be_cleared(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    team = await _field(runner, project, "Team", "select", options=["web", "api"], required=True)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await make_item(runner, ALICE, project)
    assert (refusal.error.field, refusal.error.message) == (
        f"custom_fields.{team['id']}",
        "Team is required",
    )
    item = await make_item(runner, ALICE, project, custom_fields={"team": "web"})
    for empty in (None, ""):
        async with Refusal(runner, published, "VALIDATION_ERROR"):
            await _update(runner, item, 1, custom_fields={team["id"]: empty})
    changed = await _update(runner, item, 1, custom_fields={team["id"]: "api"})
    assert changed["custom_fields"] == {team["id"]: "api"}


async def test_an_option_in_use_cant_be_removed_and_a_deleted_field_takes_its_values(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    team = await _field(runner, project, "Team", "select", options=["web", "api"])
    item = await make_item(runner, ALICE, project, custom_fields={"team": "web"})
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(
            ALICE,
            custom_fields.update_custom_field,
            custom_field_id=team["id"],
            expected_version=1,
            options=["api"],
        )
    assert refusal.error.field == "options"
    grown = await runner.command(
        ALICE,
        custom_fields.update_custom_field,
        custom_field_id=team["id"],
        expected_version=1,
        options=["web", "api", "ops"],
    )
    assert grown.payload["custom_field"]["options"] == ["web", "api", "ops"]
    await runner.command(ALICE, custom_fields.delete_custom_field, custom_field_id=team["id"])
    assert published[-1][1].payload_name == "custom_field_deleted"
    assert (await item_of(runner, ALICE, item["id"]))["custom_fields"] == {}


async def test_a_text_value_is_found_by_the_full_text_search(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    notes = await _field(runner, project, "Notes", "text")
    item = await make_item(runner, ALICE, project, custom_fields={notes["id"]: "zebracorn alpha"})
    hits = await runner.query(ALICE, search.search_work_items, query="zebracorn")
    assert [hit["work_item"]["id"] for hit in hits.items] == [item["id"]]
    await _update(runner, item, 1, custom_fields={notes["id"]: "plain words"})
    assert (await runner.query(ALICE, search.search_work_items, query="zebracorn")).items == []
    assert len((await runner.query(ALICE, search.search_work_items, query="plain")).items) == 1


# -- the merge ------------------------------------------------------------------------------


async def test_a_label_added_and_a_due_date_set_at_one_version_both_land(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    bug = await _label(runner, project, "Bug")
    item = await make_item(runner, ALICE, project)
    await _update(runner, item, 1, add_labels=["Bug"])
    merged = await _update(runner, item, 1, due_date="2026-05-01")
    assert (merged["labels"], merged["due_date"], merged["version"]) == (
        [bug["id"]],
        "2026-05-01",
        3,
    )


async def test_labels_added_by_two_people_at_one_version_both_land(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    bug, ui = await _label(runner, project, "Bug"), await _label(runner, project, "UI")
    item = await make_item(runner, ALICE, project)
    await _update(runner, item, 1, add_labels=["Bug"])
    merged = await _update(runner, item, 1, add_labels=["UI"])
    assert merged["labels"] == sorted([bug["id"], ui["id"]])


async def test_two_custom_fields_set_at_one_version_both_land_the_same_one_conflicts(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    size, team = (
        await _field(runner, project, "Size", "number"),
        await _field(runner, project, "Team", "text"),
    )
    item = await make_item(runner, ALICE, project)
    await _update(runner, item, 1, custom_fields={size["id"]: 5})
    merged = await _update(runner, item, 1, custom_fields={team["id"]: "web"})
    assert merged["custom_fields"] == {size["id"]: 5.0, team["id"]: "web"}
    async with Refusal(runner, published, "CONFLICT") as refusal:
        await _update(runner, item, 1, custom_fields={size["id"]: 8})
    [conflict] = refusal.error.conflicts
    assert (conflict.field, conflict.seen, conflict.stored, conflict.attempted) == (
        f"custom_fields.{size['id']}",
        None,
        "5.0",
        "8.0",
    )


async def test_a_replayed_create_label_answers_the_same_and_writes_once(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    ctx = with_message(ALICE)
    first = await runner.command(ctx, labels.create_label, project_id=project["id"], name="Bug")
    count = len(published)
    again = await runner.command(ctx, labels.create_label, project_id=project["id"], name="Bug")
    assert (again.payload, again.seq) == (first.payload, first.seq)
    assert len(published) == count
