"""Per-project workflow states: the rules ask a state's category, admins manage the states, and
every refusal names its field and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from pm.config import Settings
from pm.domain.events import Event
from pm.observability import metrics
from pm.services import dependencies, sprints, swim_lanes, work_items, workflow_states
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.cycle_time import get_cycle_time
from pm.services.read_models.project_context import project_context
from pm.services.read_models.projects import project_snapshot
from pm.services.read_models.sprint_report import get_sprint_report
from pm.tenancy.manager import TenantConnectionManager
from pm.wiring import build_bus, build_services

from .factories import (
    JsonDict,
    Refusal,
    add_member,
    ctx_for,
    item_of,
    make_item,
    make_project,
    with_message,
)

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]
TODAY = date.today()


async def _states(runner: ServiceRunner, project: JsonDict) -> list[JsonDict]:
    listed = await runner.query(ALICE, workflow_states.list_states, project_id=project["id"])
    return [dict(state) for state in listed["states"]]


async def _state(runner: ServiceRunner, project: JsonDict, **kw: Any) -> JsonDict:
    out = await runner.command(ALICE, workflow_states.create_state, project_id=project["id"], **kw)
    return out.payload["state"]  # type: ignore[no-any-return]


def _by_key(states: list[JsonDict]) -> dict[str, JsonDict]:
    return {state["key"]: state for state in states}


async def _move(runner: ServiceRunner, item: JsonDict, status: str) -> JsonDict:
    out = await runner.command(
        ALICE, work_items.move_work_item, work_item_id=item["id"], status=status
    )
    return out.payload["work_item"]  # type: ignore[no-any-return]


def _names(published: Published, since: int) -> list[str]:
    return [event.payload_name for _tenant, event in published[since:]]


# -- defaults -------------------------------------------------------------------------------


async def test_a_new_project_has_the_five_default_states_in_order(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    states = await _states(runner, project)
    assert [(s["key"], s["name"], s["category"]) for s in states] == [
        ("backlog", "Backlog", "backlog"),
        ("todo", "To Do", "unstarted"),
        ("in_progress", "In Progress", "started"),
        ("review", "Review", "review"),
        ("done", "Done", "completed"),
    ]
    assert [s["position"] for s in states] == sorted(s["position"] for s in states)
    snapshot = await runner.query(ALICE, project_snapshot, project_id=project["id"])
    assert snapshot["states"] == states
    assert (await make_item(runner, ALICE, project))["status"] == "backlog"


# -- the rules ask the category ---------------------------------------------------------------


async def test_an_item_in_a_custom_completed_state_counts_as_done_everywhere(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    shipped = await _state(runner, project, name="Shipped", category="completed")
    assert (shipped["key"], shipped["colour"]) == ("shipped", "#22c55e")
    blocker = await make_item(runner, ALICE, project, title="blocker", story_points=3)
    held = await make_item(runner, ALICE, project, title="held")
    await runner.command(
        ALICE,
        dependencies.create_dependency,
        blocking_item_id=blocker["id"],
        blocked_item_id=held["id"],
    )
    assert (await item_of(runner, ALICE, held["id"]))["is_blocked"]
    sent = len(published)
    await _move(runner, blocker, "shipped")
    freed = [e for _t, e in published[sent:] if e.payload_name == "blocked_changed"]
    assert freed[0].payload["changes"] == [{"work_item_id": held["id"], "is_blocked": False}]
    assert not (await item_of(runner, ALICE, held["id"]))["is_blocked"]
    context = await runner.query(ALICE, project_context, project_id=project["id"])
    assert context["counts"]["story_points"] == {"total": 3, "done": 3}
    assert context["counts"]["by_category"]["completed"] == 1
    assert context["states"][-1]["key"] == "shipped"


async def test_velocity_and_burndown_count_a_custom_completed_state(
    runner: ServiceRunner,
) -> None:
    project = await make_project(runner, ALICE)
    await _state(runner, project, name="Shipped", category="completed")
    out = await runner.command(
        ALICE,
        sprints.create_sprint,
        project_id=project["id"],
        name="S1",
        start_date=(TODAY - timedelta(days=1)).isoformat(),
        end_date=(TODAY + timedelta(days=3)).isoformat(),
    )
    sprint = out.payload["sprint"]
    started = await runner.command(
        ALICE, sprints.start_sprint, sprint_id=sprint["id"], expected_version=sprint["version"]
    )
    shipped = await make_item(runner, ALICE, project, story_points=5, sprint_id=sprint["id"])
    await make_item(runner, ALICE, project, story_points=2, sprint_id=sprint["id"])
    await _move(runner, shipped, "shipped")
    report = await runner.query(ALICE, get_sprint_report, sprint_id=sprint["id"])
    assert report["points_done"] == 5
    assert report["burndown"][-1]["remaining_points"] == 2
    done = await runner.command(
        ALICE,
        sprints.complete_sprint,
        sprint_id=sprint["id"],
        expected_version=started.payload["sprint"]["version"],
    )
    assert done.payload["sprint"]["velocity"] == 5
    assert (await item_of(runner, ALICE, shipped["id"]))["sprint_id"] == sprint["id"]


async def test_cycle_time_starts_at_a_custom_started_state(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    await _state(runner, project, name="Building", category="started", key="building")
    item = await make_item(runner, ALICE, project, status="todo")
    await _move(runner, item, "building")
    await _move(runner, item, "done")
    report = await runner.query(ALICE, get_cycle_time, project_id=project["id"])
    assert [flow["work_item_id"] for flow in report["items"]] == [item["id"]]
    assert report["items"][0]["started_at"] is not None


async def test_a_cancelled_state_is_never_overdue(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    await _state(runner, project, name="Won't do", category="cancelled")
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    item = await make_item(runner, ALICE, project, due_date=yesterday)
    assert item["is_overdue"]
    moved = await _move(runner, item, "won_t_do")
    assert moved["status"] == "won_t_do" and not moved["is_overdue"]


async def test_recategorising_a_state_reports_what_it_frees(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    qa = await _state(runner, project, name="QA", category="review")
    blocker = await make_item(runner, ALICE, project, status="qa")
    held = await make_item(runner, ALICE, project)
    await runner.command(
        ALICE,
        dependencies.create_dependency,
        blocking_item_id=blocker["id"],
        blocked_item_id=held["id"],
    )
    sent = len(published)
    out = await runner.command(
        ALICE,
        workflow_states.update_state,
        state_id=qa["id"],
        expected_version=qa["version"],
        category="completed",
    )
    assert out.payload["changes"] == [
        {"field": "category", "old_value": "review", "new_value": "completed"}
    ]
    assert _names(published, sent) == ["state_updated", "blocked_changed"]
    assert not (await item_of(runner, ALICE, held["id"]))["is_blocked"]


# -- managing states --------------------------------------------------------------------------


async def test_rename_and_reorder_are_one_small_event(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    states = _by_key(await _states(runner, project))
    sent = len(published)
    out = await runner.command(
        ALICE,
        workflow_states.update_state,
        state_id=states["review"]["id"],
        expected_version=1,
        name="Code review",
        after_id=states["todo"]["id"],
    )
    assert _names(published, sent) == ["state_updated"]
    assert {c["field"] for c in out.payload["changes"]} == {"name", "position"}
    assert out.payload["state"]["key"] == "review"  # the key stays
    order = [s["key"] for s in await _states(runner, project)]
    assert order == ["backlog", "todo", "review", "in_progress", "done"]
    assert (await make_item(runner, ALICE, project, status="review"))["status"] == "review"


async def test_a_stale_update_of_another_field_merges(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    todo = _by_key(await _states(runner, project))["todo"]
    await runner.command(
        ALICE, workflow_states.update_state, state_id=todo["id"], expected_version=1, name="Next"
    )
    out = await runner.command(
        ALICE,
        workflow_states.update_state,
        state_id=todo["id"],
        expected_version=1,
        colour="#ABCDEF",
    )
    assert (out.payload["state"]["name"], out.payload["state"]["colour"]) == ("Next", "#abcdef")


async def test_deleting_a_state_in_use_moves_its_items_and_lanes_in_one_transaction(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    states = _by_key(await _states(runner, project))
    first = await make_item(runner, ALICE, project, status="review")
    second = await make_item(runner, ALICE, project, status="review")
    other = await make_item(runner, ALICE, project, status="todo")
    sent = len(published)
    out = await runner.command(
        ALICE,
        workflow_states.delete_state,
        state_id=states["review"]["id"],
        move_items_to="in_progress",
    )
    assert out.payload == {
        "state_id": states["review"]["id"],
        "project_id": project["id"],
        "moved_items_to": "in_progress",
    }
    assert _names(published, sent) == [
        "work_item_updated",
        "work_item_updated",
        "swim_lane_deleted",
        "state_deleted",
    ]
    seqs = [event.seq for _t, event in published[sent:]]
    assert seqs == sorted(seqs)
    for item in (first, second):
        moved = await item_of(runner, ALICE, item["id"])
        assert (moved["status"], moved["version"]) == ("in_progress", 2)
    assert (await item_of(runner, ALICE, other["id"]))["version"] == 1
    assert "review" not in _by_key(await _states(runner, project))
    snapshot = await runner.query(ALICE, project_snapshot, project_id=project["id"])
    assert "review" not in {lane["status_value"] for lane in snapshot["swim_lanes"]}
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _state(runner, project, name="Review again", category="review", key="review")
    assert refusal.error.field == "key"  # keys are never reused: history keeps its meaning


async def test_deleting_an_empty_state_needs_no_destination(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    icebox = await _state(runner, project, name="Icebox", category="backlog")
    sent = len(published)
    await runner.command(
        ALICE, workflow_states.delete_state, state_id=icebox["id"], expected_version=1
    )
    assert _names(published, sent) == ["state_deleted"]
    assert published[-1][1].payload["moved_items_to"] is None


async def test_a_state_made_for_a_lane_takes_a_lane(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    await _state(runner, project, name="QA", category="review")
    out = await runner.command(
        ALICE, swim_lanes.create_swim_lane, project_id=project["id"], name="QA", status_value="qa"
    )
    assert out.payload["swim_lane"]["status_value"] == "qa"


async def test_keys_are_derived_from_names_and_never_collide(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    assert (await _state(runner, project, name="Ready for QA!", category="review"))[
        "key"
    ] == "ready_for_qa"
    assert (await _state(runner, project, name="Ready for QA?", category="review"))[
        "key"
    ] == "ready_for_qa_2"
    assert (await _state(runner, project, name="2nd look", category="review"))["key"] == (
        "s_2nd_look"
    )
    long = await _state(runner, project, name="A very long state name indeed", category="started")
    assert long["key"] == "a_very_long_stat" and len(long["key"]) == 16


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["shipped", "DONE", "", "x" * 40])
async def test_an_unknown_status_is_refused_on_create_update_and_move(
    runner: ServiceRunner, published: Published, status: str
) -> None:
    project = await make_project(runner, ALICE)
    item = await make_item(runner, ALICE, project)
    attempts: list[Callable[[], Awaitable[Any]]] = [
        lambda: make_item(runner, ALICE, project, status=status),
        lambda: runner.command(
            ALICE, work_items.update_work_item, work_item_id=item["id"], fields={"status": status}
        ),
        lambda: runner.command(
            ALICE, work_items.move_work_item, work_item_id=item["id"], status=status
        ),
    ]
    for attempt in attempts:
        async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
            await attempt()
        assert refusal.error.field == "status"
        assert "in_progress" in refusal.error.message  # it says what the states are


async def test_a_state_of_another_project_is_no_status_here(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    other = await make_project(runner, ALICE, "Gemini")
    await _state(runner, other, name="Shipped", category="completed")
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await make_item(runner, ALICE, project, status="shipped")


async def test_a_state_in_use_is_not_deleted_without_a_destination(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    other = await make_project(runner, ALICE, "Gemini")
    states = _by_key(await _states(runner, project))
    elsewhere = _by_key(await _states(runner, other))
    await make_item(runner, ALICE, project, status="review")
    review = states["review"]["id"]
    async with Refusal(runner, published, "DELETE_BLOCKED") as refusal:
        await runner.command(ALICE, workflow_states.delete_state, state_id=review)
    assert refusal.error.field == "move_items_to"
    for destination in (elsewhere["todo"]["id"], review, "review", "nowhere"):
        async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
            await runner.command(
                ALICE, workflow_states.delete_state, state_id=review, move_items_to=destination
            )
        assert refusal.error.field == "move_items_to"
    async with Refusal(runner, published, "CONFLICT"):
        await runner.command(
            ALICE,
            workflow_states.delete_state,
            state_id=review,
            expected_version=7,
            move_items_to="todo",
        )


async def test_the_last_completed_state_stays(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    done = _by_key(await _states(runner, project))["done"]
    async with Refusal(runner, published, "DELETE_BLOCKED") as refusal:
        await runner.command(
            ALICE, workflow_states.delete_state, state_id=done["id"], move_items_to="todo"
        )
    assert refusal.error.field == "state_id"
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(
            ALICE,
            workflow_states.update_state,
            state_id=done["id"],
            expected_version=1,
            category="started",
        )
    assert refusal.error.field == "category"
    shipped = await _state(runner, project, name="Shipped", category="completed")
    await runner.command(ALICE, workflow_states.delete_state, state_id=done["id"])
    async with Refusal(runner, published, "DELETE_BLOCKED"):
        await runner.command(ALICE, workflow_states.delete_state, state_id=shipped["id"])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "category": "started"}, "name"),
        ({"name": "x" * 51, "category": "started"}, "name"),
        ({"name": "to do", "category": "started"}, "name"),  # "To Do" exists
        ({"name": "QA", "category": "doing"}, "category"),
        ({"name": "QA", "category": "review", "colour": "red"}, "colour"),
        ({"name": "QA", "category": "review", "key": "QA"}, "key"),
        ({"name": "QA", "category": "review", "key": "q" * 17}, "key"),
        ({"name": "QA", "category": "review", "key": "done"}, "key"),
        ({"name": "QA", "category": "review", "after_id": "nope"}, "after_id"),
        ({"name": "QA", "category": "review", "id": "not-a-uuid"}, "id"),
    ],
)
async def test_a_bad_state_is_refused_naming_its_field(
    runner: ServiceRunner, published: Published, fields: dict[str, Any], field: str
) -> None:
    project = await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _state(runner, project, **fields)
    assert refusal.error.field == field


async def test_only_admins_manage_states(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    todo = _by_key(await _states(runner, project))["todo"]
    for role in ("editor", "viewer"):
        member = await add_member(runner, ALICE, project, f"{role}-user", role)
        attempts: list[Callable[..., Awaitable[Any]]] = [
            lambda m=member: runner.command(
                m,
                workflow_states.create_state,
                project_id=project["id"],
                name="QA",
                category="review",
            ),
            lambda m=member: runner.command(
                m,
                workflow_states.update_state,
                state_id=todo["id"],
                expected_version=1,
                name="Next",
            ),
            lambda m=member: runner.command(
                m, workflow_states.delete_state, state_id=todo["id"], move_items_to="done"
            ),
        ]
        for attempt in attempts:
            async with Refusal(runner, published, "FORBIDDEN"):
                await attempt()
        listed = await runner.query(member, workflow_states.list_states, project_id=project["id"])
        assert len(listed["states"]) == 5  # every member reads them
    stranger = ctx_for("mallory")
    async with Refusal(runner, published, "NOT_FOUND"):
        await runner.command(
            stranger,
            workflow_states.update_state,
            state_id=todo["id"],
            expected_version=1,
            name="Mine",
        )


async def test_states_per_project_are_bounded(
    settings: Settings, manager: TenantConnectionManager, published: Published
) -> None:
    bounded = settings.model_copy(update={"states_max_per_project": 6})
    runner = build_services(bounded, manager, build_bus(bounded, manager))
    project = await make_project(runner, ALICE)
    await _state(runner, project, name="QA", category="review")
    hits = metrics.BOUND_HITS.labels("states_per_project")
    before = hits._value.get()
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _state(runner, project, name="More", category="review")
    assert refusal.error.field == "project_id" and "at most 6" in refusal.error.message
    assert hits._value.get() == before + 1


async def test_a_retried_create_is_applied_once(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    ctx = with_message(ALICE)
    first = await runner.command(
        ctx, workflow_states.create_state, project_id=project["id"], name="QA", category="review"
    )
    again = await runner.command(
        ctx, workflow_states.create_state, project_id=project["id"], name="QA", category="review"
    )
    assert again.payload == first.payload and again.seq == first.seq
    assert [s["key"] for s in await _states(runner, project)].count("qa") == 1


async def test_another_tenants_states_are_untouched(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    bystander = ctx_for("alice", tenant_id="bystander")
    theirs = await make_project(runner, bystander)
    await _state(runner, project, name="Shipped", category="completed")
    todo = _by_key(await _states(runner, project))["todo"]
    await runner.command(
        ALICE, workflow_states.delete_state, state_id=todo["id"], move_items_to="backlog"
    )
    listed = await runner.query(bystander, workflow_states.list_states, project_id=theirs["id"])
    assert [s["key"] for s in listed["states"]] == [
        "backlog",
        "todo",
        "in_progress",
        "review",
        "done",
    ]
    async with Refusal(runner, [], "NOT_FOUND"):
        await runner.command(
            bystander,
            workflow_states.update_state,
            state_id=todo["id"],
            expected_version=2,
            name="Hijack",
        )


async def test_a_lane_needs_a_state_of_its_project(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    other = await make_project(runner, ALICE, "Gemini")
    await _state(runner, other, name="QA", category="review")
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await runner.command(
            ALICE,
            swim_lanes.create_swim_lane,
            project_id=project["id"],
            name="QA",
            status_value="qa",
        )
    assert refusal.error.field == "status_value"


async def test_an_update_of_a_missing_state_or_with_a_bad_value_is_refused(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    todo = _by_key(await _states(runner, project))["todo"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"state_id": "00000000-0000-4000-8000-000000000000"}, "NOT_FOUND", "state_id"),
        ({"state_id": todo["id"], "colour": "#12345"}, "VALIDATION_ERROR", "colour"),
        ({"state_id": todo["id"], "name": "Done"}, "VALIDATION_ERROR", "name"),
        ({"state_id": todo["id"], "before_id": "nope"}, "VALIDATION_ERROR", "before_id"),
    ]
    for fields, code, field in cases:
        async with Refusal(runner, published, code) as refusal:
            await runner.command(ALICE, workflow_states.update_state, expected_version=1, **fields)
        assert refusal.error.field == field
