"""A large project for the benchmark and the REST bounds tests (tests import it from here; the
bench imports nothing from tests/).

The root project, its members and its active sprint are made through the service layer (so
memberships, lanes and activity are the real thing); the thousands of items below are inserted
as rows in one transaction, because 10,000 single commands take half a minute and the rules of
creating one item are tested elsewhere. The rows obey DOMAIN.md: valid parents, order keys,
assignees that are users, a sprint of the project, and ``blocks`` edges without cycles.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from pm.domain.models import ActivityLog, Dependency, WorkItem
from pm.domain.ordering import spread_keys
from pm.services import members, sprints, work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner

STATUSES = ("backlog", "todo", "in_progress", "review", "done")
TEAM = ("sam", "kim", "lee", "ana", "raj")


@dataclass(frozen=True)
class LargeProject:
    project_id: str
    sprint_id: str
    item_ids: list[str]
    blocked_ids: list[str]


async def seed_large_project(
    runner: ServiceRunner, ctx: RequestContext, *, items: int, title: str = "Atlas"
) -> LargeProject:
    """A project with ``items`` work items below it: 1% epics, 10% stories, the rest tasks."""

    async def run(fn: Any, **kwargs: Any) -> Mapping[str, Any]:
        return (await runner.command(ctx, fn, **kwargs)).payload

    project = (await run(work_items.create_work_item, item_type="project", title=title))[
        "work_item"
    ]
    for user in TEAM:
        await run(members.add_member, project_id=project["id"], user_id=user, role="editor")
    today = date.today()
    sprint = (
        await run(
            sprints.create_sprint,
            project_id=project["id"],
            name="Sprint 1",
            start_date=(today - timedelta(days=3)).isoformat(),
            end_date=(today + timedelta(days=10)).isoformat(),
        )
    )["sprint"]
    await run(sprints.start_sprint, sprint_id=sprint["id"], expected_version=1)
    rows = _item_rows(project["id"], sprint["id"], ctx.user_id, items)
    for number, row in enumerate(rows, start=1):  # the project's sequence, in creation order
        row["number"], row["key"] = number, f"{project['key']}-{number}"
    pairs = [(rows[i - 1], rows[i]) for i in range(len(rows) // 2, len(rows), 50)]
    for blocker, _blocked in pairs:
        blocker["status"] = "in_progress"
    edges = [(blocker["id"], blocked["id"]) for blocker, blocked in pairs]
    tenant = await runner.tenants.get(ctx.tenant_id)
    await tenant.write(lambda session: _insert(session, project["id"], rows, edges, ctx.user_id))
    return LargeProject(
        project["id"], sprint["id"], [row["id"] for row in rows], [b for _a, b in edges]
    )


def _item_rows(project_id: str, sprint_id: str, user: str, count: int) -> list[dict[str, Any]]:
    epics = max(1, count // 100)
    stories = max(1, count // 10)
    levels = [("epic", epics), ("story", stories), ("task", count - epics - stories)]
    parents = [project_id]
    rows: list[dict[str, Any]] = []
    for item_type, how_many in levels:
        level = [
            _row(project_id, item_type, parents[n % len(parents)], n, user, sprint_id)
            for n in range(how_many)
        ]
        by_parent: dict[str, list[dict[str, Any]]] = {}
        for row in level:
            by_parent.setdefault(row["parent_id"], []).append(row)
        for siblings in by_parent.values():
            for row, key in zip(siblings, spread_keys(len(siblings)), strict=True):
                row["position"] = key
        rows += level
        parents = [row["id"] for row in level]
    return rows


def _row(
    project_id: str, item_type: str, parent_id: str, n: int, user: str, sprint_id: str
) -> dict[str, Any]:
    now = 1_760_000_000_000 + n
    task = item_type == "task"
    return {
        "id": str(uuid.uuid4()),
        "item_type": item_type,
        "project_id": project_id,
        "parent_id": parent_id,
        "title": f"{item_type.title()} {n}: make the {n}th thing work",
        "description": "Acceptance: it works, it is tested, it is documented." if task else "",
        "status": STATUSES[n % len(STATUSES)],
        "priority": ("low", "medium", "high", "critical")[n % 4],
        "assignee_id": TEAM[n % len(TEAM)] if task and n % 3 else None,
        "story_points": (1, 2, 3, 5, 8)[n % 5] if task else None,
        "sprint_id": sprint_id if task and n % 20 == 0 else None,
        "version": 1,
        "created_at": now,
        "created_by": user,
        "updated_at": now,
        "updated_by": user,
    }


def _insert(
    session: Session,
    project_id: str,
    rows: list[dict[str, Any]],
    edges: list[tuple[str, str]],
    user: str,
) -> None:
    session.execute(insert(WorkItem), rows)
    now = rows[-1]["created_at"]
    deps = [
        {
            "id": str(uuid.uuid4()),
            "blocking_item_id": blocker,
            "blocked_item_id": item_id,
            "project_id": project_id,
            "dependency_type": "blocks",
            "created_at": now,
            "created_by": user,
            "updated_at": now,
            "updated_by": user,
        }
        for blocker, item_id in edges
    ]
    session.execute(insert(Dependency), deps)
    session.execute(
        insert(ActivityLog),
        [
            {
                "entity_type": "work_item",
                "entity_id": row["id"],
                "project_id": project_id,
                "action": "created",
                "user_id": user,
                "version": 1,
                "at": row["created_at"],
            }
            for row in rows
        ],
    )
