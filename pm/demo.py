"""A sample project for ``pm demo``, made through the same service entries as real traffic (a
client of the service layer, like a door), so what a newcomer explores is exactly what the doors
would have produced."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pm.domain.events import Payload
from pm.services import comments, dependencies, members, sprints, time_entries, work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner

DEMO_TENANT = "demo"
DEMO_USER = "demo-user"  # the tenant's admin (the token's roles claim), who makes the project
DEMO_NAME = "Demo User"
# The colleagues, members of the demo project: (user id, name, project role)
PEOPLE = (("sam", "Sam", "editor"), ("kim", "Kim", "viewer"))

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


async def seed_demo(runner: ServiceRunner, ctx: RequestContext) -> Payload:
    """Create the demo project; return it. Safe to call on a fresh tenant only."""
    seed = _Seed(runner, ctx)
    project = await seed.item("project", None, "Mobile app launch")
    for user_id, _name, role in PEOPLE:
        await seed.run(members.add_member, project_id=project["id"], user_id=user_id, role=role)
    sprint = await seed.running_sprint(project)
    tasks = await seed.tree(project, sprint)
    await seed.links(tasks)
    return dict(project)


class _Seed:
    """The demo's commands, each as the demo user."""

    def __init__(self, runner: ServiceRunner, ctx: RequestContext) -> None:
        self.runner, self.ctx = runner, ctx

    async def run(self, fn: Any, **kwargs: Any) -> Payload:
        return (await self.runner.command(self.ctx, fn, **kwargs)).payload

    async def item(
        self, item_type: str, parent: Payload | None, title: str, **fields: Any
    ) -> Payload:
        parent_id = None if parent is None else parent["id"]
        created = await self.run(
            work_items.create_work_item,
            item_type=item_type,
            parent_id=parent_id,
            title=title,
            **fields,
        )
        item: Payload = created["work_item"]
        return item

    async def running_sprint(self, project: Payload) -> Payload:
        today = date.today()
        created = await self.run(
            sprints.create_sprint,
            project_id=project["id"],
            name="Sprint 1",
            goal="Sign-up works end to end",
            start_date=(today - timedelta(days=4)).isoformat(),
            end_date=(today + timedelta(days=10)).isoformat(),
        )
        sprint: Payload = created["sprint"]
        await self.run(sprints.start_sprint, sprint_id=sprint["id"], expected_version=1)
        return sprint

    async def tree(self, project: Payload, sprint: Payload) -> dict[str, Payload]:
        """The epics, stories and tasks of ``PLAN``; the tasks by title."""
        tasks: dict[str, Payload] = {}
        for epic_title, stories in PLAN:
            epic = await self.item("epic", project, epic_title, priority="high")
            for story_title, story_tasks in stories:
                story = await self.item("story", epic, story_title)
                for task_title, status, points in story_tasks:
                    in_sprint = epic_title == "Accounts and sign-in" and status != "backlog"
                    tasks[task_title] = await self.item(
                        "task",
                        story,
                        task_title,
                        status=status,
                        story_points=points,
                        assignee_id=self.ctx.user_id if status == "in_progress" else None,
                        sprint_id=sprint["id"] if in_sprint else None,
                    )
        return tasks

    async def links(self, tasks: dict[str, Payload]) -> None:
        """Two blocking dependencies, a comment with a reply, a running timer."""
        for blocking, blocked in (
            ("Local store", "Conflict resolution"),
            ("Verification email", "Google OAuth"),
        ):
            await self.run(
                dependencies.create_dependency,
                blocking_item_id=tasks[blocking]["id"],
                blocked_item_id=tasks[blocked]["id"],
            )
        discussed = tasks["Rate-limit sign-ups"]["id"]
        first = await self.run(
            comments.create_comment,
            work_item_id=discussed,
            content="Per IP or per email? Per email feels fairer for shared offices.",
        )
        await self.run(
            comments.create_comment,
            work_item_id=discussed,
            parent_comment_id=first["comment"]["id"],
            content="Both: 5/hour per email, 50/hour per IP.",
        )
        await self.run(
            time_entries.start_timer,
            work_item_id=discussed,
            description="Token bucket in the sign-up handler",
        )
