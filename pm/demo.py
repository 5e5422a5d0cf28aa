"""A sample project for ``pm demo``, made through the same service entries as real traffic (a
client of the service layer, like a door), so what a newcomer explores is exactly what the doors
would have produced."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pm.domain.events import JsonDict
from pm.services import comments, dependencies, members, sprints, time_entries, work_items
from pm.services.context import RequestContext
from pm.services.runner import ServiceRunner

DEMO_TENANT = "demo"
DEMO_USER = "demo-user"
DEMO_NAME = "Demo User"
TEAMMATE = "sam"

# (epic title, [(story title, [(task title, status, points)])])
PLAN: tuple[tuple[str, tuple[tuple[str, tuple[tuple[str, str, int], ...]], ...]], ...] = (
    (
        "Accounts and sign-in",
        (
            (
                "Sign up with email",
                (
                    ("Sign-up form", "done", 3),
                    ("Verification email", "review", 2),
                    ("Rate-limit sign-ups", "in_progress", 3),
                ),
            ),
            (
                "Single sign-on",
                (("Google OAuth", "todo", 5), ("SAML for enterprise", "backlog", 8)),
            ),
        ),
    ),
    (
        "Offline mode",
        (
            (
                "Sync queue",
                (("Local store", "in_progress", 5), ("Conflict resolution", "todo", 8)),
            ),
        ),
    ),
)


async def seed_demo(runner: ServiceRunner, ctx: RequestContext) -> JsonDict:
    """Create the demo project; return it. Safe to call on a fresh tenant only."""

    async def run(fn: Any, **kwargs: Any) -> JsonDict:
        outcome = await runner.command(ctx, fn, **kwargs)
        return outcome.payload

    project = (
        await run(work_items.create_work_item, item_type="project", title="Mobile app launch")
    )["work_item"]
    await run(members.add_member, project_id=project["id"], user_id=TEAMMATE, role="editor")
    today = date.today()
    sprint = (
        await run(
            sprints.create_sprint,
            project_id=project["id"],
            name="Sprint 1",
            goal="Sign-up works end to end",
            start_date=(today - timedelta(days=4)).isoformat(),
            end_date=(today + timedelta(days=10)).isoformat(),
        )
    )["sprint"]
    await run(sprints.start_sprint, sprint_id=sprint["id"], expected_version=sprint["version"])
    tasks: dict[str, JsonDict] = {}
    for epic_title, stories in PLAN:
        epic = (
            await run(
                work_items.create_work_item,
                item_type="epic",
                parent_id=project["id"],
                title=epic_title,
                priority="high",
            )
        )["work_item"]
        for story_title, story_tasks in stories:
            story = (
                await run(
                    work_items.create_work_item,
                    item_type="story",
                    parent_id=epic["id"],
                    title=story_title,
                )
            )["work_item"]
            for task_title, status, points in story_tasks:
                in_sprint = epic_title == "Accounts and sign-in" and status != "backlog"
                tasks[task_title] = (
                    await run(
                        work_items.create_work_item,
                        item_type="task",
                        parent_id=story["id"],
                        title=task_title,
                        status=status,
                        story_points=points,
                        assignee_id=ctx.user_id if status == "in_progress" else None,
                        sprint_id=sprint["id"] if in_sprint else None,
                    )
                )["work_item"]
    await run(
        dependencies.create_dependency,
        blocking_item_id=tasks["Local store"]["id"],
        blocked_item_id=tasks["Conflict resolution"]["id"],
    )
    await run(
        dependencies.create_dependency,
        blocking_item_id=tasks["Verification email"]["id"],
        blocked_item_id=tasks["Google OAuth"]["id"],
    )
    first = (
        await run(
            comments.create_comment,
            work_item_id=tasks["Rate-limit sign-ups"]["id"],
            content="Per IP or per email? Per email feels fairer for shared offices.",
        )
    )["comment"]
    await run(
        comments.create_comment,
        work_item_id=tasks["Rate-limit sign-ups"]["id"],
        parent_comment_id=first["id"],
        content="Both: 5/hour per email, 50/hour per IP.",
    )
    await run(
        time_entries.start_timer,
        work_item_id=tasks["Rate-limit sign-ups"]["id"],
        description="Token bucket in the sign-up handler",
    )
    return dict(project)
