"""The reads of whole projects: the projects a caller can see (as views, or as an agent's
overview with keys and counts), the initial load of one (``ProjectSnapshot``), and its items as
of a seq (``WorkItemsList``); each in one snapshot."""

from __future__ import annotations

from typing import TypedDict

from pm.domain.enums import Role
from pm.domain.models import WorkItem
from pm.services.dependencies import project_dependencies
from pm.services.kernel.access import require_project
from pm.services.kernel.bounds import text_size, within_bounds
from pm.services.kernel.pagination import Page, PageRequest, page_of
from pm.services.kernel.reader import Reader
from pm.services.members import members_page
from pm.services.saved_views import views_of
from pm.services.swim_lanes import lanes_of
from pm.services.views import (
    CustomFieldView,
    DependencyView,
    LabelView,
    MemberView,
    Paged,
    SavedViewView,
    SprintView,
    StateView,
    SwimLaneView,
    WorkItemView,
    custom_field_view,
    label_view,
    paged,
    sprint_view,
)
from pm.services.work_items import item_views
from pm.services.workflow_states import states_of
from pm.services.workflows import item_views_of


class ProjectSnapshot(TypedDict):
    project: WorkItemView
    work_items: list[WorkItemView]
    sprints: list[SprintView]
    swim_lanes: list[SwimLaneView]
    states: list[StateView]  # the project's workflow states in board order (never cut)
    members: list[MemberView]
    dependencies: list[DependencyView]
    as_of_seq: int
    has_more: bool  # work items (or another section) were left out by the bounds
    next_cursor: str | None  # GetWorkItems{cursor} goes on with the work items
    members_next_cursor: str | None  # ListMembers{cursor} goes on with the members
    labels: list[LabelView]
    custom_fields: list[CustomFieldView]
    views: list[SavedViewView]  # the caller's and the shared ones


class ProjectsPage(Paged):
    projects: list[WorkItemView]


class ProjectOverview(TypedDict):
    id: str
    key: str
    title: str
    items: int  # live items below the project
    by_status: dict[str, int]


class ProjectOverviewPage(Paged):
    projects: list[ProjectOverview]


class WorkItemsAsOf(TypedDict):
    work_items: list[WorkItemView]
    as_of_seq: int
    has_more: bool
    next_cursor: str | None


def list_projects(
    read: Reader, *, cursor: str | None = None, limit: int | None = None
) -> ProjectsPage:
    """The live projects the caller may view (every one, for a tenant admin), oldest first,
    a bounded page from ``cursor``."""
    result = _projects_page(read, read.page(limit, cursor))
    return {"projects": item_views_of(read, result.items, set()), **paged(result.next_cursor)}


def project_overview(
    read: Reader, *, cursor: str | None = None, limit: int | None = None
) -> ProjectOverviewPage:
    """The projects the caller may view, oldest first, each with its key and item counts: the
    same bounded page as ``list_projects`` (its cursors go on with either)."""
    result = _projects_page(read, read.page(limit, cursor))
    ids = [row.id for row in result.items]
    by_status: dict[str, dict[str, int]] = {project_id: {} for project_id in ids}
    for project_id, status, count in read.items.status_counts(ids):
        by_status[project_id][status] = count
    overview: list[ProjectOverview] = [
        {
            "id": row.id,
            "key": row.key,
            "title": row.title,
            "items": sum(by_status[row.id].values()),
            "by_status": by_status[row.id],
        }
        for row in result.items
    ]
    return {"projects": overview, **paged(result.next_cursor)}


def _projects_page(read: Reader, page: PageRequest) -> Page[WorkItem]:
    after = page.after_key(int, str)
    rows = read.items.live_projects_from(
        None if after is None else (after[0], after[1]),
        limit=page.limit + 1,
        member=None if read.ctx.is_tenant_admin else read.ctx.user_id,
    )
    return page_of(
        rows,
        page,
        key=lambda row: [row.created_at, row.id],
        size=lambda row: text_size(row.title, row.description),
    )


def project_snapshot(read: Reader, *, project_id: str) -> ProjectSnapshot:
    """``ProjectSnapshot``: the project, its items, sprints, lanes, members and dependencies,
    with ``as_of_seq`` so a client can follow live events from exactly this point. Each
    section is bounded (``snapshot_max_items`` rows, ``max_response_bytes`` of content); the
    work items go on with ``GetWorkItems{cursor: next_cursor}``, the members with
    ``ListMembers{cursor: members_next_cursor}``."""
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
    members = members_page(read, project_id, read.snapshot_page(None, None))
    views = views_of(read, project_id, read.settings.max_page_size)
    dependencies = project_dependencies(read, project_id, limit=bound)
    return {
        "project": item_views_of(read, [project], set())[0],
        "work_items": items["work_items"],
        "sprints": [sprint_view(row) for row in sprints.rows],
        "swim_lanes": lanes_of(read, project_id),
        "states": states_of(read, project_id),
        "members": members["members"],
        "dependencies": dependencies.rows,
        "as_of_seq": items["as_of_seq"],
        "has_more": items["has_more"]
        or sprints.has_more
        or members["has_more"]
        or dependencies.has_more
        or views["has_more"],
        "next_cursor": items["next_cursor"],
        "members_next_cursor": members["next_cursor"],
        "labels": [label_view(row) for row in read.labels.live_in_project(project_id)],
        "custom_fields": [
            custom_field_view(row) for row in read.custom_fields.live_in_project(project_id)
        ],
        "views": views["views"],
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
    return {
        "work_items": item_views(read, result.items),
        "as_of_seq": read.feed.current_seq(),
        "has_more": result.next_cursor is not None,
        "next_cursor": result.next_cursor,
    }
