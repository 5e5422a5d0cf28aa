"""One work item in full, for ``GET /api/v1/work-items/{id}``: the item, its children in board
order, its comments, time totals, dependencies and recent activity, in one snapshot, each list
bounded."""

from __future__ import annotations

from typing import TypedDict

from pm.domain.enums import Role
from pm.services.activity import activity_page
from pm.services.comments import comments_page
from pm.services.dependencies import dependencies_of
from pm.services.kernel.access import require_item_role
from pm.services.kernel.clock import now_ms
from pm.services.kernel.pagination import PageRequest
from pm.services.kernel.reader import Reader
from pm.services.time_entries import time_totals
from pm.services.views import (
    ActivityView,
    CommentView,
    ItemDependencies,
    UserTime,
    WorkItemView,
)
from pm.services.work_items import children_page, item_view

ITEM_ACTIVITY = 50  # the latest activity rows of the item
LISTS = 4  # children, comments, dependencies, activity: each a share of the byte bound


class WorkItemDetail(TypedDict):
    work_item: WorkItemView
    children: list[WorkItemView]
    children_next_cursor: str | None
    comments: list[CommentView]
    comments_next_cursor: str | None
    time_total_seconds: int
    time_by_user: list[UserTime]
    dependencies: ItemDependencies
    activity: list[ActivityView]
    activity_next_cursor: str | None


def work_item_detail(read: Reader, *, work_item_id: str) -> WorkItemDetail:
    """One item with the first page of its children, comments, dependencies and activity
    (the answer holds at most ``max_response_bytes`` of content; each list's cursor goes on
    with its own request), and the time totals of all its entries."""
    item = require_item_role(read, work_item_id, Role.VIEWER)
    share = read.settings.max_response_bytes // LISTS
    page = PageRequest(limit=read.settings.default_page_size, max_bytes=share)
    children = children_page(read, item.id, page)
    comments = comments_page(read, item.id, page)
    total, by_user = time_totals(read, item.id, now_ms())
    activity = activity_page(
        read,
        [item.project_id],
        PageRequest(limit=ITEM_ACTIVITY, max_bytes=share),
        entity_id=item.id,
    )
    return {
        "work_item": item_view(read, item),
        "children": children.items,
        "children_next_cursor": children.next_cursor,
        "comments": comments["comments"],
        "comments_next_cursor": comments["next_cursor"],
        "time_total_seconds": total,
        "time_by_user": by_user,
        "dependencies": dependencies_of(read, item, page),
        "activity": activity.items,
        "activity_next_cursor": activity.next_cursor,
    }
