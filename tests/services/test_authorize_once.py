"""A read across aggregates authorizes once: each read model enters pm.services.kernel.access
exactly one time, however many parts it assembles (the project context enters it once, not once
per sprint, member list, lane list...). Counted with a profiler hook on the thread that runs the
query: every call into the access module from outside it is one entry."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, timedelta
from types import FrameType
from typing import Any

import pytest

from pm.domain.enums import Role
from pm.services import comments, dependencies, sprints, time_entries
from pm.services.kernel import access
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.clock import now_ms
from pm.services.kernel.reader import Reader
from pm.services.kernel.runner import ServiceRunner
from pm.services.read_models.project_context import project_context
from pm.services.read_models.projects import project_snapshot
from pm.services.read_models.sprint_report import get_sprint_report
from pm.services.read_models.work_item_detail import work_item_detail

from .factories import add_member, ctx_for, make_item, make_project

ALICE = ctx_for("alice")
VIEWER = Role.VIEWER


def entries_into_access(run: Callable[[], Any]) -> int:
    """How many times ``run`` (on this thread) enters the access module from outside it."""
    module_file = access.__file__
    entries = 0

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal entries
        caller = frame.f_back
        if (
            event == "call"
            and frame.f_code.co_filename == module_file
            and (caller is None or caller.f_code.co_filename != module_file)
        ):
            entries += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return entries


def read_now(runner: ServiceRunner, ctx: RequestContext, fn: Any, **kwargs: Any) -> Any:
    """The query on this thread, in one read transaction, as the runner would run it."""
    tenant = runner.tenants.open_sync(ctx.tenant_id)
    return tenant.read_sync(lambda session: fn(Reader(session, ctx, runner.settings), **kwargs))


async def _board(runner: ServiceRunner) -> dict[str, Any]:
    """A project with every part a composite read assembles: members, a running and a finished
    sprint, a tree, a blocking dependency, a comment and a time entry."""
    project = await make_project(runner, ALICE)
    await add_member(runner, ALICE, project, "bob", "editor")
    today = date.today()

    async def sprint(name: str) -> dict[str, Any]:
        created = await runner.command(
            ALICE,
            sprints.create_sprint,
            project_id=project["id"],
            name=name,
            start_date=(today - timedelta(days=3)).isoformat(),
            end_date=(today + timedelta(days=3)).isoformat(),
        )
        made: dict[str, Any] = created.payload["sprint"]
        await runner.command(ALICE, sprints.start_sprint, sprint_id=made["id"], expected_version=1)
        return made

    finished = await sprint("Sprint 0")
    await runner.command(
        ALICE, sprints.complete_sprint, sprint_id=finished["id"], expected_version=2
    )
    running = await sprint("Sprint 1")
    epic = await make_item(runner, ALICE, project, "epic", "Epic")
    first = await make_item(runner, ALICE, epic, title="First", sprint_id=running["id"])
    second = await make_item(runner, ALICE, epic, title="Second", story_points=3)
    await runner.command(
        ALICE,
        dependencies.create_dependency,
        blocking_item_id=first["id"],
        blocked_item_id=second["id"],
    )
    await runner.command(ALICE, comments.create_comment, work_item_id=epic["id"], content="Hi")
    now = now_ms()
    await runner.command(
        ALICE,
        time_entries.create_time_entry,
        work_item_id=epic["id"],
        started_at=now - 60_000,
        ended_at=now - 1_000,
    )
    return {"project": project, "epic": epic, "sprint": running}


@pytest.mark.parametrize(
    ("read", "argument", "key"),
    [
        (project_context, "project_id", "project"),
        (project_snapshot, "project_id", "project"),
        (work_item_detail, "work_item_id", "epic"),
        (get_sprint_report, "sprint_id", "sprint"),
    ],
)
async def test_a_composite_read_enters_access_once(
    runner: ServiceRunner, read: Any, argument: str, key: str
) -> None:
    board = await _board(runner)
    answer: dict[str, Any] = {}

    def run() -> None:
        answer.update(read_now(runner, ALICE, read, **{argument: board[key]["id"]}))

    assert entries_into_access(run) == 1
    assert answer  # the read assembled its parts (and a refused one would have raised)


async def test_the_counter_sees_every_entry(runner: ServiceRunner) -> None:
    """The hook counts entries, not calls within the module: two separate checks are two."""
    board = await _board(runner)

    def twice() -> None:
        read_now(
            runner, ALICE, access.require_role, project_id=board["project"]["id"], needed=VIEWER
        )
        read_now(
            runner, ALICE, access.require_item_role, item_ref=board["epic"]["id"], needed=VIEWER
        )

    assert entries_into_access(twice) == 2
