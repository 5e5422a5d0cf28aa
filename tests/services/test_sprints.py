from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pm.domain.events import Event
from pm.services import sprints, work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.sprint_report import get_sprint_report

from .factories import Refusal, ctx_for, item_of, make_item, make_project

ALICE = ctx_for("alice")
Published = list[tuple[str, Event]]
TODAY = date.today()


async def _sprint(
    runner: ServiceRunner, project: dict[str, Any], name: str = "S1", **kw: Any
) -> dict[str, Any]:
    kw.setdefault("start_date", (TODAY - timedelta(days=2)).isoformat())
    kw.setdefault("end_date", (TODAY + timedelta(days=5)).isoformat())
    out = await runner.command(
        ALICE, sprints.create_sprint, project_id=project["id"], name=name, **kw
    )
    return out.payload["sprint"]  # type: ignore[no-any-return]


async def _start(runner: ServiceRunner, sprint: dict[str, Any]) -> dict[str, Any]:
    out = await runner.command(
        ALICE, sprints.start_sprint, sprint_id=sprint["id"], expected_version=sprint["version"]
    )
    return out.payload["sprint"]  # type: ignore[no-any-return]


async def test_sprint_lifecycle_records_velocity_and_releases_unfinished(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    sprint = await _start(runner, await _sprint(runner, project))
    done = await make_item(
        runner, ALICE, project, title="done", story_points=5, status="done", sprint_id=sprint["id"]
    )
    open_ = await make_item(
        runner, ALICE, project, title="open", story_points=3, sprint_id=sprint["id"]
    )
    sent = len(published)
    out = await runner.command(
        ALICE, sprints.complete_sprint, sprint_id=sprint["id"], expected_version=sprint["version"]
    )
    completed = out.payload["sprint"]
    assert (completed["status"], completed["velocity"], completed["committed_points"]) == (
        "completed",
        5,
        8,
    )
    released = [e for _t, e in published[sent:] if e.payload_name == "work_item_updated"]
    assert [e.payload["work_item"]["id"] for e in released] == [open_["id"]]
    assert (await item_of(runner, ALICE, open_["id"]))["sprint_id"] is None
    assert (await item_of(runner, ALICE, done["id"]))["sprint_id"] == sprint["id"]


async def test_unfinished_items_move_into_the_named_next_sprint(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    sprint = await _start(runner, await _sprint(runner, project))
    nxt = await _sprint(runner, project, "S2")
    task = await make_item(runner, ALICE, project, sprint_id=sprint["id"])
    await runner.command(
        ALICE,
        sprints.complete_sprint,
        sprint_id=sprint["id"],
        expected_version=2,
        move_unfinished_to=nxt["id"],
    )
    assert (await item_of(runner, ALICE, task["id"]))["sprint_id"] == nxt["id"]


async def test_only_one_active_sprint_per_project(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    await _start(runner, await _sprint(runner, project))
    second = await _sprint(runner, project, "S2")
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await _start(runner, second)


async def test_starting_needs_both_dates(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    undated = await _sprint(runner, project, start_date=None, end_date=None)
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await _start(runner, undated)


async def test_end_before_start_is_refused(runner: ServiceRunner, published: Published) -> None:
    project = await make_project(runner, ALICE)
    async with Refusal(runner, published, "VALIDATION_ERROR") as refusal:
        await _sprint(runner, project, start_date="2026-05-10", end_date="2026-05-09")
    assert refusal.error.field == "end_date"
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await _sprint(runner, project, start_date="2026-02-30")


async def test_completed_or_cancelled_sprint_takes_no_items(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    sprint = await _start(runner, await _sprint(runner, project))
    await runner.command(ALICE, sprints.complete_sprint, sprint_id=sprint["id"], expected_version=2)
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await make_item(runner, ALICE, project, sprint_id=sprint["id"])


async def test_only_planned_sprints_are_deleted_and_items_return(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    planned = await _sprint(runner, project)
    task = await make_item(runner, ALICE, project, sprint_id=planned["id"])
    out = await runner.command(
        ALICE, sprints.delete_sprint, sprint_id=planned["id"], expected_version=1
    )
    assert out.payload == {"sprint_id": planned["id"], "project_id": project["id"]}
    assert (await item_of(runner, ALICE, task["id"]))["sprint_id"] is None
    active = await _start(runner, await _sprint(runner, project, "S2"))
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE, sprints.delete_sprint, sprint_id=active["id"], expected_version=active["version"]
        )


async def test_cancel_from_active_and_not_twice(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    sprint = await _start(runner, await _sprint(runner, project))
    out = await runner.command(
        ALICE, sprints.cancel_sprint, sprint_id=sprint["id"], expected_version=2
    )
    assert out.payload["sprint"]["status"] == "cancelled"
    async with Refusal(runner, published, "VALIDATION_ERROR"):
        await runner.command(
            ALICE, sprints.cancel_sprint, sprint_id=sprint["id"], expected_version=3
        )


async def test_update_merges_and_conflicts_like_items(
    runner: ServiceRunner, published: Published
) -> None:
    project = await make_project(runner, ALICE)
    sprint = await _sprint(runner, project)
    await runner.command(
        ALICE,
        sprints.update_sprint,
        sprint_id=sprint["id"],
        expected_version=1,
        fields={"goal": "G"},
    )
    merged = await runner.command(
        ALICE,
        sprints.update_sprint,
        sprint_id=sprint["id"],
        expected_version=1,
        fields={"name": "N"},
    )
    assert (merged.payload["sprint"]["goal"], merged.payload["sprint"]["name"]) == ("G", "N")
    async with Refusal(runner, published, "CONFLICT"):
        await runner.command(
            ALICE,
            sprints.update_sprint,
            sprint_id=sprint["id"],
            expected_version=1,
            fields={"goal": "X"},
        )


async def test_report_has_points_and_burndown(runner: ServiceRunner) -> None:
    project = await make_project(runner, ALICE)
    sprint = await _start(runner, await _sprint(runner, project))
    await make_item(runner, ALICE, project, story_points=5, sprint_id=sprint["id"])
    task = await make_item(runner, ALICE, project, story_points=3, sprint_id=sprint["id"])
    await runner.command(
        ALICE,
        work_items.update_work_item,
        work_item_id=task["id"],
        expected_version=1,
        fields={"status": "done"},
    )
    report = await runner.query(ALICE, get_sprint_report, sprint_id=sprint["id"])
    assert (report["points_committed"], report["points_done"]) == (8, 3)
    assert report["burndown"][0]["date"] == (TODAY - timedelta(days=2)).isoformat()
    assert report["burndown"][-1] == {"date": TODAY.isoformat(), "remaining_points": 5}


async def test_viewer_cannot_manage_sprints(runner: ServiceRunner, published: Published) -> None:
    from .factories import add_member

    project = await make_project(runner, ALICE)
    viewer = await add_member(runner, ALICE, project, "vera", "viewer")
    async with Refusal(runner, published, "FORBIDDEN"):
        await runner.command(viewer, sprints.create_sprint, project_id=project["id"], name="S")
