"""The agent's view of one project: what its state is, what is blocked, who works on what,
how the sprint goes. Bounded: at most ``max_items`` items (projects and epics first, then by
tree order) and ``recent_activity`` activity rows; a truncation note says what was left out."""

from __future__ import annotations

from collections import Counter

from sqlmodel import Session, col, select

from pm.domain.enums import ItemType, Role, SprintStatus
from pm.domain.events import JsonDict
from pm.domain.models import ActivityLog, WorkItem
from pm.services.access import require_role
from pm.services.blocking import blocked_among
from pm.services.changes import current_seq
from pm.services.comments import get_comments
from pm.services.context import RequestContext
from pm.services.dependencies import get_dependencies, list_project_dependencies
from pm.services.members import list_members
from pm.services.sprints import get_sprint_report, list_sprints
from pm.services.swim_lanes import list_swim_lanes
from pm.services.time_entries import get_time_entries
from pm.services.views import activity_view, work_item_view
from pm.services.work_items import get_work_item, project_work_items

LEVEL = {ItemType.PROJECT: 0, ItemType.EPIC: 1, ItemType.STORY: 2, ItemType.TASK: 3}


def project_context(
    session: Session,
    ctx: RequestContext,
    *,
    project_id: str,
    max_items: int,
    recent_activity: int,
) -> JsonDict:
    require_role(session, ctx, project_id, Role.VIEWER)
    items = project_work_items(session, ctx, project_id=project_id)
    items = [i for i in items if i["id"] != project_id]
    titles = {i["id"]: i["title"] for i in items}
    kept = sorted(items, key=lambda i: (LEVEL[ItemType(i["item_type"])], i["position"]))[:max_items]
    kept_ids = {i["id"] for i in kept}
    dependencies = list_project_dependencies(session, ctx, project_id=project_id)
    blocked = [
        {
            "id": i["id"],
            "title": i["title"],
            "status": i["status"],
            "blocked_by": [
                {"id": d["blocking_item_id"], "title": titles.get(d["blocking_item_id"])}
                for d in dependencies
                if d["blocked_item_id"] == i["id"] and d["dependency_type"] == "blocks"
            ],
        }
        for i in items
        if i["is_blocked"]
    ]
    sprints = []
    for sprint in list_sprints(session, ctx, project_id=project_id):
        entry = dict(sprint)
        if sprint["status"] in (SprintStatus.ACTIVE, SprintStatus.PLANNED):
            report = get_sprint_report(session, ctx, sprint_id=sprint["id"])
            entry.update(
                points_committed=report["points_committed"],
                points_done=report["points_done"],
                burndown=report["burndown"],
            )
        sprints.append(entry)
    activity = session.exec(
        select(ActivityLog)
        .where(ActivityLog.project_id == project_id)
        .order_by(col(ActivityLog.id).desc())
        .limit(recent_activity)
    ).all()
    truncated = len(items) - len(kept)
    return {
        "project": get_work_item(session, ctx, work_item_id=project_id),
        "as_of_seq": current_seq(session),
        "counts": {
            "items": len(items),
            "by_status": dict(Counter(i["status"] for i in items)),
            "by_type": dict(Counter(i["item_type"] for i in items)),
            "by_assignee": dict(Counter(i["assignee_id"] or "unassigned" for i in items)),
            "blocked": len(blocked),
        },
        "work_items": [i for i in kept if i["id"] in kept_ids],
        "truncated": truncated > 0,
        "truncation_note": (
            f"{truncated} of {len(items)} items left out (limit {max_items}); page through "
            f"GET /api/v1/work-items?project_id={project_id} for the rest"
            if truncated
            else None
        ),
        "blocked_items": blocked,
        "dependencies": dependencies,
        "sprints": sprints,
        "members": list_members(session, ctx, project_id=project_id),
        "swim_lanes": list_swim_lanes(session, ctx, project_id=project_id),
        "recent_activity": [activity_view(row) for row in activity],
    }


def work_item_detail(
    session: Session, ctx: RequestContext, *, work_item_id: str, activity_limit: int = 50
) -> JsonDict:
    """One item with its children, comments, time totals, dependencies and recent activity."""
    item = get_work_item(session, ctx, work_item_id=work_item_id)
    rows = session.exec(
        select(WorkItem)
        .where(WorkItem.parent_id == item["id"], col(WorkItem.deleted_at).is_(None))
        .order_by(col(WorkItem.position))
    ).all()
    blocked = blocked_among(session, [row.id for row in rows])
    children = [work_item_view(row, is_blocked=row.id in blocked) for row in rows]
    time = get_time_entries(session, ctx, work_item_id=work_item_id)
    activity = session.exec(
        select(ActivityLog)
        .where(ActivityLog.entity_id == work_item_id)
        .order_by(col(ActivityLog.id).desc())
        .limit(activity_limit)
    ).all()
    return {
        "work_item": item,
        "children": children,
        "comments": get_comments(session, ctx, work_item_id=work_item_id),
        "time_total_seconds": time["total_seconds"],
        "time_by_user": time["by_user"],
        "dependencies": get_dependencies(session, ctx, work_item_id=work_item_id),
        "activity": [activity_view(row) for row in activity],
    }
