"""The reads of whole projects: the projects a caller can see (as views, or as an agent's
overview with keys and counts), the initial load of one (``ProjectSnapshot``), and its items as
of a seq (``WorkItemsList``); each in one snapshot."""

from __future__ import annotations

from typing import TypedDict

from pm.domain.enums import Role
from pm.services.dependencies import project_dependencies
from pm.services.kernel.access import require_project, visible_project_ids
from pm.services.kernel.bounds import text_size, within_bounds
from pm.services.kernel.pagination import PageRequest, page_of
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
    has_more: bool  # work items (or another section) were left out by the bounds
    next_cursor: str | None  # GetWorkItems{cursor} goes on with the work items


class ProjectOverview(TypedDict):
    id: str
    key: str
    title: str
    items: int  # live items below the project
    by_status: dict[str, int]


class WorkItemsAsOf(TypedDict):
    work_items: list[WorkItemView]
    as_of_seq: int
    has_more: bool
    next_cursor: str | None


def list_projects(read: Reader) -> list[WorkItemView]:
    """The live projects the caller may view, oldest first."""
    ids = visible_project_ids(read)
    by_id = {item.id: item for item in read.items.get_many(ids)}
    return [work_item_view(by_id[i]) for i in ids if i in by_id]


def project_overview(read: Reader) -> list[ProjectOverview]:
    """The projects the caller may view, oldest first, each with its key and item counts."""
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
    with ``as_of_seq`` so a client can follow live events from exactly this point. Each
    section is bounded (``snapshot_max_items`` rows, ``max_response_bytes`` of text); the
    work items go on with ``GetWorkItems{cursor: next_cursor}``."""
    project_id = require_project(read, project_id, Role.VIEWER)
    project = read.items.get(project_id)
    assert project is not None  # require_project found it live
    items = _items_page(read, project_id, read.snapshot_page(None, None))
    bound = read.settings.snapshot_max_items
    sprints = within_bounds(
        read.sprints.live_in_project(project_id),
        size=lambda row: text_size(row.name, row.goal),
        max_rows=bound,
        max_bytes=read.settings.max_response_bytes,
    )
    members = within_bounds(
        members_of(read, project_id), size=_nothing, max_rows=bound, max_bytes=bound
    )
    dependencies = within_bounds(
        project_dependencies(read, project_id), size=_nothing, max_rows=bound, max_bytes=bound
    )
    return {
        "project": work_item_view(project),
        "work_items": items["work_items"],
        "sprints": [sprint_view(row) for row in sprints.rows],
        "swim_lanes": lanes_of(read, project_id),
        "members": members.rows,
        "dependencies": dependencies.rows,
        "as_of_seq": items["as_of_seq"],
        "has_more": items["has_more"]
        or sprints.has_more
        or members.has_more
        or dependencies.has_more,
        "next_cursor": items["next_cursor"],
    }


def project_items_as_of(
    read: Reader, *, project_id: str, cursor: str | None = None, limit: int | None = None
) -> WorkItemsAsOf:
    """``WorkItemsList``: the project's live items oldest first (the project among them), a
    bounded page of them from ``cursor``, and the seq they are current at."""
    project_id = require_project(read, project_id, Role.VIEWER)
    return _items_page(read, project_id, read.snapshot_page(limit, cursor))


def _items_page(read: Reader, project_id: str, page: PageRequest) -> WorkItemsAsOf:
    after = page.after_key(int, str)
    rows = read.items.live_in_project_from(
        project_id, None if after is None else (after[0], after[1]), limit=page.limit + 1
    )
    result = page_of(
        rows,
        page,
        key=lambda row: [row.created_at, row.id],
        size=lambda row: text_size(row.title, row.description),
    )
    blocked = read.dependencies.blocked_among([row.id for row in result.items])
    return {
        "work_items": [work_item_view(row, is_blocked=row.id in blocked) for row in result.items],
        "as_of_seq": read.feed.current_seq(),
        "has_more": result.next_cursor is not None,
        "next_cursor": result.next_cursor,
    }


def _nothing(_row: object) -> int:
    return 0
