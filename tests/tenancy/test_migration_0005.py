"""Migration 0005 (workflow states) on a tenant file at 0004 with data in it: every project gets
today's five states, the statuses its items carry become those states' keys, and nothing changes
meaning: velocity, blocked flags, the burndown of a completed sprint, the cycle-time report and
the context's counts read the same before and after.

The 0004 file is made by the app: projects, items in every status moved through the board,
a completed sprint, blocking dependencies, a deleted project; then the file is taken down to 0004
(the rows only 0005's code writes, the states and their creation activity, go with it) and held
to be exactly the schema Alembic makes at 0004. The readings before are taken on it with the
same figures checked by hand, so "the same after" can't hold by both being empty.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from pm.config import Settings
from pm.services import dependencies, sprints, work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.cycle_time import get_cycle_time
from pm.services.read_models.project_context import project_context
from pm.services.read_models.sprint_report import get_sprint_report
from pm.services.workflow_states import list_states
from pm.tenancy.ids import tenant_db_path
from pm.tenancy.migrations import Migrator
from pm.wiring import build_bus, build_services, build_tenants
from tests.services.factories import ctx_for, make_item, make_project

ALICE = ctx_for("alice", tenant_id="old")
TODAY = date.today()
DEFAULT_KEYS = ["backlog", "todo", "in_progress", "review", "done"]


def _schema(path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()


async def _move(runner: ServiceRunner, item: dict[str, Any], status: str) -> None:
    await runner.command(ALICE, work_items.move_work_item, work_item_id=item["id"], status=status)


async def _write_history(runner: ServiceRunner) -> dict[str, str]:
    """Two projects (one deleted later), items through every status, a completed sprint with
    velocity, blocking dependencies: what a team's file holds."""
    project = await make_project(runner, ALICE, "Apollo")
    gone = await make_project(runner, ALICE, "Gemini")
    out = await runner.command(
        ALICE,
        sprints.create_sprint,
        project_id=project["id"],
        name="S1",
        start_date=(TODAY - timedelta(days=3)).isoformat(),
        end_date=(TODAY + timedelta(days=1)).isoformat(),
    )
    sprint = out.payload["sprint"]
    started = await runner.command(
        ALICE, sprints.start_sprint, sprint_id=sprint["id"], expected_version=1
    )
    shipped = await make_item(
        runner, ALICE, project, title="shipped", story_points=5, sprint_id=sprint["id"]
    )
    reviewed = await make_item(
        runner, ALICE, project, title="reviewed", story_points=3, sprint_id=sprint["id"]
    )
    for status in ("todo", "in_progress", "review", "done"):
        await _move(runner, shipped, status)
    await _move(runner, reviewed, "review")
    await runner.command(
        ALICE,
        sprints.complete_sprint,
        sprint_id=sprint["id"],
        expected_version=started.payload["sprint"]["version"],
    )
    blocker = await make_item(runner, ALICE, project, title="blocker", status="in_progress")
    held = await make_item(runner, ALICE, project, title="held", status="todo")
    freed = await make_item(runner, ALICE, project, title="freed", status="backlog")
    direct = await make_item(runner, ALICE, project, title="done directly", status="todo")
    await _move(runner, direct, "done")
    for blocking, blocked in ((blocker, held), (shipped, freed)):
        await runner.command(
            ALICE,
            dependencies.create_dependency,
            blocking_item_id=blocking["id"],
            blocked_item_id=blocked["id"],
        )
    await runner.command(
        ALICE, work_items.delete_work_item, work_item_id=gone["id"], expected_version=1
    )
    return {
        "project": project["id"],
        "gone": gone["id"],
        "sprint": sprint["id"],
        "held": held["id"],
        "freed": freed["id"],
    }


async def _readings(runner: ServiceRunner, ids: dict[str, str]) -> dict[str, Any]:
    """What the rules say of the file: each must read the same before and after."""
    context = await runner.query(ALICE, project_context, project_id=ids["project"])
    report = await runner.query(ALICE, get_sprint_report, sprint_id=ids["sprint"])
    flow = await runner.query(ALICE, get_cycle_time, project_id=ids["project"])
    return {
        "velocity": context["velocity"],
        "sprint": (report["sprint"]["velocity"], report["points_done"], report["burndown"]),
        "blocked": sorted(item["id"] for item in context["work_items"] if item["is_blocked"]),
        "statuses": sorted((item["id"], item["status"]) for item in context["work_items"]),
        "counts": {k: v for k, v in context["counts"].items() if k != "by_category"},
        "cycle_time": flow,
    }


def _take_down_to_0004(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        Migrator().downgrade(conn, "0004")
    engine.dispose()
    with sqlite3.connect(path) as db:  # rows 0004's code never wrote
        db.execute("DELETE FROM activity_log WHERE entity_type = 'workflow_state'")


def _fresh_0004(path: Path) -> Path:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        Migrator().upgrade(conn, "0004")
    engine.dispose()
    return path


async def test_statuses_become_states_and_nothing_changes_meaning(
    settings: Settings, tmp_path: Path
) -> None:
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    ids = await _write_history(runner)
    tenants.close()
    path = tenant_db_path(settings.prepare_data_dir(), "old")
    _take_down_to_0004(path)
    assert _schema(path) == _schema(_fresh_0004(tmp_path / "pristine.db"))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0004",)]
        statuses = {row[0] for row in db.execute("SELECT DISTINCT status FROM work_items")}
    assert statuses == set(DEFAULT_KEYS)

    # The readings on the 0004 file, through 0005 opened lazily: the same as by hand.
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    try:
        after = await _readings(runner, ids)
        listed = await runner.query(ALICE, list_states, project_id=ids["project"])
    finally:
        tenants.close()
    assert after["sprint"][0] == 5 and after["sprint"][1] == 5  # shipped done, reviewed not
    # reviewed left the sprint unfinished when it completed; shipped was done today
    assert [point["remaining_points"] for point in after["sprint"][2]] == [5, 5, 5, 0]
    assert after["velocity"]["recent_average"] == 5
    assert after["blocked"] == [ids["held"]]  # the freed one's blocker is done
    assert after["cycle_time"]["cycle_time"]["count"] == 1  # "done directly" never started
    assert after["cycle_time"]["lead_time"]["count"] == 2
    assert after["counts"]["story_points"]["done"] == 5
    assert [(s["key"], s["category"]) for s in listed["states"]] == [
        ("backlog", "backlog"),
        ("todo", "unstarted"),
        ("in_progress", "started"),
        ("review", "review"),
        ("done", "completed"),
    ]
    with sqlite3.connect(path) as db:
        seeded = db.execute(
            "SELECT project_id, count(*) FROM workflow_states GROUP BY project_id"
        ).fetchall()
    assert dict(seeded) == {ids["project"]: 5, ids["gone"]: 5}  # the deleted project's too


async def test_the_readings_before_and_after_the_upgrade_are_identical(
    settings: Settings,
) -> None:
    """The same file read at head before it is taken down to 0004 and after 0005 brought it
    back: every figure the rules derive is equal, field by field."""
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    ids = await _write_history(runner)
    before = await _readings(runner, ids)
    tenants.close()
    path = tenant_db_path(settings.prepare_data_dir(), "old")
    _take_down_to_0004(path)
    with sqlite3.connect(path) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "workflow_states" not in names
    tenants = build_tenants(settings)
    runner = build_services(settings, tenants, build_bus(settings, tenants))
    try:
        after = await _readings(runner, ids)
        # and the upgraded file goes on working: a new item in one of the seeded states
        item = await make_item(
            runner, ALICE, {"id": ids["project"]}, title="after", status="review"
        )
    finally:
        tenants.close()
    assert after == before
    assert before["blocked"] == [ids["held"]]
    assert item["status"] == "review"
