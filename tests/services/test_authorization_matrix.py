"""Every command against viewer, editor, admin, non-member and tenant admin (DOMAIN.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from pm.domain.events import Event
from pm.services import (
    comments,
    dependencies,
    members,
    sprints,
    swim_lanes,
    time_entries,
    work_items,
)
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.clock import now_ms
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.projects import project_snapshot

from .factories import Refusal, add_member, ctx_for, make_item, make_project

ALICE = ctx_for("alice")
ROLES = ("viewer", "editor", "admin", "outsider", "tenant_admin")
RANK = {"viewer": 1, "editor": 2, "admin": 3, "tenant_admin": 3}


@dataclass
class World:
    runner: ServiceRunner
    project: dict[str, Any]
    task: dict[str, Any]
    other: dict[str, Any]
    sprint: dict[str, Any]
    lane: Mapping[str, Any]


Action = Callable[[World, RequestContext], Awaitable[Any]]


def _cmd(fn: Any, **static: Any) -> Callable[[Callable[[World], dict[str, Any]]], Action]:
    def with_args(args: Callable[[World], dict[str, Any]]) -> Action:
        async def run(world: World, ctx: RequestContext) -> Any:
            return await world.runner.command(ctx, fn, **static, **args(world))

        return run

    return with_args


def _today() -> str:
    return date.today().isoformat()


COMMANDS: dict[str, tuple[str, Action]] = {
    "create_work_item": (
        "editor",
        _cmd(work_items.create_work_item, item_type="task", title="x")(
            lambda w: {"parent_id": w.project["id"]}
        ),
    ),
    "update_work_item": (
        "editor",
        _cmd(work_items.update_work_item, expected_version=1, fields={"title": "y"})(
            lambda w: {"work_item_id": w.task["id"]}
        ),
    ),
    "move_work_item": (
        "editor",
        _cmd(work_items.move_work_item, expected_version=1, status="todo")(
            lambda w: {"work_item_id": w.task["id"]}
        ),
    ),
    "delete_work_item": (
        "editor",
        _cmd(work_items.delete_work_item, expected_version=1)(
            lambda w: {"work_item_id": w.task["id"]}
        ),
    ),
    "delete_project": (
        "admin",
        _cmd(work_items.delete_work_item, expected_version=1)(
            lambda w: {"work_item_id": w.other["id"]}
        ),
    ),
    "create_sprint": (
        "editor",
        _cmd(sprints.create_sprint, name="S")(lambda w: {"project_id": w.project["id"]}),
    ),
    "update_sprint": (
        "editor",
        _cmd(sprints.update_sprint, expected_version=1, fields={"goal": "g"})(
            lambda w: {"sprint_id": w.sprint["id"]}
        ),
    ),
    "start_sprint": (
        "editor",
        _cmd(sprints.start_sprint, expected_version=1)(lambda w: {"sprint_id": w.sprint["id"]}),
    ),
    "cancel_sprint": (
        "editor",
        _cmd(sprints.cancel_sprint, expected_version=1)(lambda w: {"sprint_id": w.sprint["id"]}),
    ),
    "delete_sprint": (
        "editor",
        _cmd(sprints.delete_sprint, expected_version=1)(lambda w: {"sprint_id": w.sprint["id"]}),
    ),
    "create_comment": (
        "editor",
        _cmd(comments.create_comment, content="hi")(lambda w: {"work_item_id": w.task["id"]}),
    ),
    "log_time": (
        "editor",
        _cmd(time_entries.log_time, minutes=30)(lambda w: {"work_item_id": w.task["id"]}),
    ),
    "start_timer": (
        "editor",
        _cmd(time_entries.start_timer)(lambda w: {"work_item_id": w.task["id"]}),
    ),
    "create_time_entry": (
        "editor",
        _cmd(time_entries.create_time_entry)(
            lambda w: {
                "work_item_id": w.task["id"],
                "started_at": now_ms() - 60_000,
                "ended_at": now_ms() - 1000,
            }
        ),
    ),
    "create_dependency": (
        "editor",
        _cmd(dependencies.create_dependency)(
            lambda w: {"blocking_item_id": w.project["id"], "blocked_item_id": w.task["id"]}
        ),
    ),
    "create_swim_lane": (
        "admin",
        _cmd(swim_lanes.create_swim_lane, name="B", status_value="backlog")(
            lambda w: {"project_id": w.project["id"]}
        ),
    ),
    "update_swim_lane": (
        "admin",
        _cmd(swim_lanes.update_swim_lane, expected_version=1, name="Z")(
            lambda w: {"swim_lane_id": w.lane["id"]}
        ),
    ),
    "add_member": (
        "admin",
        _cmd(members.add_member, user_id="newbie", role="viewer")(
            lambda w: {"project_id": w.project["id"]}
        ),
    ),
    "update_member_role": (
        "admin",
        _cmd(members.update_member_role, user_id="target", role="editor")(
            lambda w: {"project_id": w.project["id"]}
        ),
    ),
    "remove_member": (
        "admin",
        _cmd(members.remove_member, user_id="target")(lambda w: {"project_id": w.project["id"]}),
    ),
}


async def _world(runner: ServiceRunner) -> tuple[World, dict[str, RequestContext]]:
    project = await make_project(runner, ALICE)
    other = await make_project(runner, ALICE, "Empty")
    task = await make_item(runner, ALICE, project)
    sprint = (
        await runner.command(
            ALICE,
            sprints.create_sprint,
            project_id=project["id"],
            name="S",
            start_date=_today(),
            end_date=_today(),
        )
    ).payload["sprint"]
    snapshot = await runner.query(ALICE, project_snapshot, project_id=project["id"])
    lane = snapshot["swim_lanes"][0]
    people = {
        "viewer": await add_member(runner, ALICE, project, "vera", "viewer"),
        "editor": await add_member(runner, ALICE, project, "ed", "editor"),
        "admin": await add_member(runner, ALICE, project, "ada", "admin"),
        "outsider": ctx_for("mallory"),
        "tenant_admin": ctx_for("boss", roles=("admin",)),
    }
    await add_member(runner, ALICE, project, "target", "viewer")
    for role in ("viewer", "editor", "admin"):
        await runner.command(
            ALICE,
            members.add_member,
            project_id=other["id"],
            user_id=people[role].user_id,
            role=role,
        )
    return World(runner, project, task, other, sprint, lane), people


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_authorization(
    runner: ServiceRunner, published: list[tuple[str, Event]], command: str, role: str
) -> None:
    world, people = await _world(runner)
    needed, action = COMMANDS[command]
    ctx = people[role]
    if role == "outsider":
        async with Refusal(runner, published, "NOT_FOUND"):
            await action(world, ctx)
    elif RANK[role] < RANK[needed]:
        async with Refusal(runner, published, "FORBIDDEN"):
            await action(world, ctx)
    else:
        outcome = await action(world, ctx)
        assert outcome.seq is not None


def test_matrix_covers_every_command_module() -> None:
    import inspect

    from pm.domain.events import Outcome

    modules = (work_items, sprints, comments, time_entries, dependencies, swim_lanes, members)
    commands = {
        name
        for module in modules
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__
        and not name.startswith("_")
        and inspect.signature(fn).return_annotation in (Outcome, "Outcome")
    }
    owner_only = {
        "update_comment",
        "delete_comment",
        "stop_timer",
        "update_time_entry",
        "delete_time_entry",
        "complete_sprint",
        "delete_dependency",
        "delete_swim_lane",
    }
    assert commands - set(COMMANDS) - owner_only == set()
