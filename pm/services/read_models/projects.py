"""The reads of whole projects: the projects a caller can see (as views, or as an agent's
overview with keys and counts), the initial load of one (``ProjectSnapshot``), and its items as
of a seq (``WorkItemsList``); each in one snapshot."""

from __future__ import annotations

from typing import TypedDict

from pm.domain.enums import Role
from pm.services.dependencies import project_dependencies
from pm.services.kernel.access import require_project, visible_project_ids
from pm.services.kernel.reader import Reader
from pm.services.members import members_of
from pm.services.swim_lanes import lanes_of
from pm.services.views import (
    DependencyView,
    MemberView,
    SprintView,
    SwimLaneView,
    WorkItemView,
    sprint_view,
    work_item_view,
)


class ProjectSnapshot(TypedDict):
    project: WorkItemView
    work_items: list[WorkItemView]
    sprints: list[SprintView]
    swim_lanes: list[SwimLaneView]
    members: list[MemberView]
    dependencies: list[DependencyView]
    as_of_seq: int


class ProjectOverview(TypedDict):
    id: str
    key: str
    title: str
    items: int  # live items below the project
    by_status: dict[str, int]


class WorkItemsAsOf(TypedDict):
    work_items: list[WorkItemView]
    as_of_seq: int


def list_projects(read: Reader) -> list[WorkItemView]:
    """The live projects the caller may view, in board order."""
    ids = visible_project_ids(read)
    by_id = {item.id: item for item in read.items.get_many(ids)}
    return [work_item_view(by_id[i]) for i in ids if i in by_id]


def project_overview(read: Reader) -> list[ProjectOverview]:
    """The projects the caller may view, in board order, each with its key and item counts."""
    ids = visible_project_ids(read)
    by_status: dict[str, dict[str, int]] = {project_id: {} for project_id in ids}
    for project_id, status, count in read.items.status_counts(ids):
        by_status[project_id][status] = count
    rows = {item.id: item for item in read.items.get_many(ids)}
    return [
        {
            "id": project_id,
            "key": rows[project_id].key,
            "title": rows[project_id].title,
            "items": sum(by_status[project_id].values()),
            "by_status": by_status[project_id],
        }
        for project_id in ids
        if project_id in rows
    ]


def project_snapshot(read: Reader, *, project_id: str) -> ProjectSnapshot:
    """``ProjectSnapshot``: the project, its items, sprints, lanes, members and dependencies,
    with ``as_of_seq`` so a client can follow live events from exactly this point."""
    project_id = require_project(read, project_id, Role.VIEWER)
    items = _live_items(read, project_id)
    return {
        "project": next(view for view in items if view["id"] == project_id),
        "work_items": items,
        "sprints": [sprint_view(row) for row in read.sprints.live_in_project(project_id)],
        "swim_lanes": lanes_of(read, project_id),
        "members": members_of(read, project_id),
        "dependencies": project_dependencies(read, project_id),
        "as_of_seq": read.feed.current_seq(),
    }


def project_items_as_of(read: Reader, *, project_id: str) -> WorkItemsAsOf:
    """``WorkItemsList``: every live item of the project and the seq it is current at."""
    project_id = require_project(read, project_id, Role.VIEWER)
    return {"work_items": _live_items(read, project_id), "as_of_seq": read.feed.current_seq()}


def _live_items(read: Reader, project_id: str) -> list[WorkItemView]:
    """Every live item of the project, the project itself among them, in tree order (parent,
    then position)."""
    rows = read.items.live_in_project(project_id)
    blocked = read.dependencies.blocked_in_project(project_id)
    return [work_item_view(row, is_blocked=row.id in blocked) for row in rows]
