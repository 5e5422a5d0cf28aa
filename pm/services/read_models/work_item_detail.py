"""One work item in full, for ``GET /api/v1/work-items/{id}``: the item, its children in board
order, its comments, time totals, dependencies and recent activity, in one snapshot."""

from __future__ import annotations

from typing import TypedDict

from pm.domain.enums import Role
from pm.services.dependencies import dependencies_of
from pm.services.kernel.access import require_item_role
from pm.services.kernel.clock import now_ms
from pm.services.kernel.reader import Reader
from pm.services.time_entries import entries_with_totals
from pm.services.views import (
    ActivityView,
    CommentView,
    ItemDependencies,
    UserTime,
    WorkItemView,
    activity_view,
    comment_view,
)
from pm.services.work_items import item_view, item_views

ITEM_ACTIVITY = 50  # the latest activity rows of the item


class WorkItemDetail(TypedDict):
    work_item: WorkItemView
    children: list[WorkItemView]
    comments: list[CommentView]
    time_total_seconds: int
    time_by_user: list[UserTime]
    dependencies: ItemDependencies
    activity: list[ActivityView]


def work_item_detail(read: Reader, *, work_item_id: str) -> WorkItemDetail:
    """One item with its children, comments, time totals, dependencies and recent activity."""
    item = require_item_role(read, work_item_id, Role.VIEWER)
    time = entries_with_totals(read.time_entries.live_on_item(item.id), now_ms())
    activity = read.activity_log.page([item.project_id], limit=ITEM_ACTIVITY, entity_id=item.id)
    return {
        "work_item": item_view(read, item),
        "children": item_views(read, read.items.live_children(item.id)),
        "comments": [comment_view(row) for row in read.comments.live_on_item(item.id)],
        "time_total_seconds": time["total_seconds"],
        "time_by_user": time["by_user"],
        "dependencies": dependencies_of(read, item),
        "activity": [activity_view(row) for row in activity],
    }
