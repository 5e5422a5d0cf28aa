"""The agent's view of one project in one read: what its state is, what is blocked, who works on
what, how the sprint goes. And the REST view of one item with everything hanging off it.

The project context is bounded whatever the project's size, so an agent can always afford it:

- at most ``max_items`` work items, chosen by relevance (in progress, review, todo, backlog,
  done; higher levels first; then board order) and always with their ancestors, so the kept
  items form one connected tree; counts still cover every item;
- at most ``max_items`` blocked items, dependencies and members, the running and planned
  sprints plus the last ``FINISHED_SPRINTS`` finished ones, and ``recent_activity`` rows;
- free text (descriptions, activity values) clipped to ``TEXT_CHARS`` characters.

``truncated`` and ``truncation_note`` say what was left out and where to page for the rest.
One read transaction gives one consistent snapshot, stamped with the change-feed ``as_of_seq``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from statistics import mean
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from pm.domain.enums import ItemType, Role, SprintStatus, Status
from pm.domain.events import JsonDict
from pm.domain.models import ActivityLog, WorkItem
from pm.observability import metrics
from pm.services.access import require_role
from pm.services.activity import get_activity
from pm.services.blocking import blocked_among, blocked_in_project
from pm.services.changes import current_seq
from pm.services.comments import get_comments
from pm.services.context import RequestContext
from pm.services.dependencies import get_dependencies, list_project_dependencies
from pm.services.members import list_members
from pm.services.pagination import PageRequest
from pm.services.sprints import get_sprint_report, list_sprints
from pm.services.swim_lanes import list_swim_lanes
from pm.services.time_entries import get_time_entries
from pm.services.views import work_item_view
from pm.services.work_items import get_work_item

TEXT_CHARS = 280
FINISHED_SPRINTS = 10
VELOCITY_WINDOW = 3
ITEM_ACTIVITY = 50
LEVEL = {ItemType.PROJECT: 0, ItemType.EPIC: 1, ItemType.STORY: 2, ItemType.TASK: 3}
RELEVANCE = {
    Status.IN_PROGRESS: 0,
    Status.REVIEW: 1,
    Status.TODO: 2,
    Status.BACKLOG: 3,
    Status.DONE: 4,
}
ITEM_COLUMNS = (
    "id",
    "parent_id",
    "item_type",
    "title",
    "status",
    "priority",
    "assignee_id",
    "story_points",
    "sprint_id",
    "position",
    "version",
    "updated_at",
)


def _rank(column: str, ranks: Mapping[Any, int]) -> str:
    cases = " ".join(f"WHEN '{value.value}' THEN {rank}" for value, rank in ranks.items())
    return f"CASE {column} {cases} END"


_LIVE_BELOW = "project_id = :project_id AND deleted_at IS NULL AND id != :project_id"
_RANKED_ITEMS = f"""
    SELECT {", ".join(ITEM_COLUMNS)}, substr(description, 1, {TEXT_CHARS + 1})
    FROM work_items WHERE {_LIVE_BELOW}
    ORDER BY {_rank("status", RELEVANCE)}, {_rank("item_type", LEVEL)}, position, id
"""
_ITEM_COUNTS = text(
    f"""
    SELECT status, item_type, assignee_id, count(*), coalesce(sum(story_points), 0)
    FROM work_items WHERE {_LIVE_BELOW}
    GROUP BY status, item_type, assignee_id
    """
)
_BLOCKED_ITEMS = text(
    """
    SELECT held.id, held.title, held.status, held.assignee_id,
           blocker.id, blocker.title, blocker.status, blocker.assignee_id
    FROM dependencies d
    JOIN work_items blocker ON blocker.id = d.blocking_item_id
    JOIN work_items held ON held.id = d.blocked_item_id
    WHERE d.project_id = :project_id AND d.deleted_at IS NULL AND d.dependency_type = 'blocks'
      AND blocker.deleted_at IS NULL AND held.deleted_at IS NULL
    ORDER BY held.position, held.id, blocker.id
    """
)


def clip(text: str | None, limit: int = TEXT_CHARS) -> str | None:
    """Free text cut to ``limit`` characters, marked with an ellipsis when cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def project_context(
    session: Session,
    ctx: RequestContext,
    *,
    project_id: str,
    max_items: int,
    recent_activity: int,
) -> JsonDict:
    """Everything an agent needs about one project, bounded as the module docstring says."""
    require_role(session, ctx, project_id, Role.VIEWER)
    counts = _counts(session, project_id)
    blocked_ids = blocked_in_project(session, project_id)
    kept = _tree_order(_relevant(session, project_id, max_items, blocked_ids), project_id)
    blocked = _blocked_items(session, project_id, blocked_ids)
    dependencies = list_project_dependencies(session, ctx, project_id=project_id)
    members = list_members(session, ctx, project_id=project_id)
    running, finished = _sprints(session, ctx, project_id)
    sprints = running + finished[:FINISHED_SPRINTS]
    cut = {
        "work items": (len(kept), counts["items"]),
        "blocked items": (min(len(blocked), max_items), len(blocked)),
        "dependencies": (min(len(dependencies), max_items), len(dependencies)),
        "members": (min(len(members), max_items), len(members)),
        "finished sprints": (min(len(finished), FINISHED_SPRINTS), len(finished)),
    }
    return {
        "project": get_work_item(session, ctx, work_item_id=project_id),
        "as_of_seq": current_seq(session),
        "limits": {
            "max_items": max_items,
            "text_chars": TEXT_CHARS,
            "recent_activity": recent_activity,
            "finished_sprints": FINISHED_SPRINTS,
        },
        **_truncation(project_id, cut),
        "counts": {**counts, "blocked": len(blocked_ids)},
        "sprints": sprints,
        "velocity": _velocity(sprints),
        "blocked_items": blocked[:max_items],
        "work_items": kept,
        "dependencies": dependencies[:max_items],
        "members": members[:max_items],
        "swim_lanes": list_swim_lanes(session, ctx, project_id=project_id),
        "recent_activity": _recent_activity(session, project_id, recent_activity),
    }


def _counts(session: Session, project_id: str) -> JsonDict:
    """Counts over every live item of the project, whatever was kept."""
    by_status: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_assignee: dict[str, Counter[str]] = defaultdict(Counter)
    points: Counter[str] = Counter()
    groups = session.connection().execute(_ITEM_COUNTS, {"project_id": project_id})
    for status, item_type, assignee, count, story_points in groups:
        by_status[status] += count
        by_type[item_type] += count
        by_assignee[assignee or "unassigned"][status] += count
        points[status] += story_points
    return {
        "items": sum(by_status.values()),
        "by_status": dict(by_status),
        "by_type": dict(by_type),
        "by_assignee": {
            user: {"total": sum(statuses.values()), **statuses}
            for user, statuses in sorted(by_assignee.items())
        },
        "story_points": {"total": sum(points.values()), "done": points[Status.DONE]},
    }


def _relevant(
    session: Session, project_id: str, budget: int, blocked_ids: set[str]
) -> list[JsonDict]:
    """The most relevant items, each preceded by its missing ancestors, up to ``budget``.

    Rows arrive ranked from SQL as plain DB-API tuples: on a 10,000-item project, SQLAlchemy's
    Row objects cost more than the query itself. Dicts are built only for the items kept."""
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    rows = dbapi.execute(_RANKED_ITEMS, {"project_id": project_id}).fetchall()
    by_id = {row[0]: row for row in rows}
    kept: dict[str, JsonDict] = {}
    for row in rows:
        chain = []
        node: tuple[Any, ...] | None = row
        while node is not None and node[0] not in kept:
            chain.append(node)
            node = by_id.get(node[1])
        if len(kept) + len(chain) > budget:
            break
        for link in chain:
            item: JsonDict = dict(zip(ITEM_COLUMNS, link, strict=False))
            item["description"] = clip(link[-1])
            item["is_blocked"] = item["id"] in blocked_ids
            kept[item["id"]] = item
    return list(kept.values())


def _tree_order(items: list[JsonDict], project_id: str) -> list[JsonDict]:
    """Depth first, siblings by position; each item gets its ``depth`` below the project."""
    children: dict[str, list[JsonDict]] = defaultdict(list)
    for item in items:
        children[item["parent_id"]].append(item)
    ordered: list[JsonDict] = []
    stack = [(child, 0) for child in sorted(children[project_id], key=_position, reverse=True)]
    while stack:
        item, depth = stack.pop()
        item["depth"] = depth
        ordered.append(item)
        stack += [(c, depth + 1) for c in sorted(children[item["id"]], key=_position, reverse=True)]
    return ordered


def _position(item: JsonDict) -> tuple[str, str]:
    return item["position"], item["id"]


def _blocked_items(session: Session, project_id: str, blocked_ids: set[str]) -> list[JsonDict]:
    """The blocked items (``blocking.blocked_in_project`` decides which), each with every item
    that has a live ``blocks`` edge to it and that item's status."""
    rows = session.connection().execute(_BLOCKED_ITEMS, {"project_id": project_id})
    entries: dict[str, JsonDict] = {}
    for row in rows:
        if row[0] not in blocked_ids:
            continue
        entry = entries.setdefault(
            row[0],
            {
                "id": row[0],
                "title": row[1],
                "status": row[2],
                "assignee_id": row[3],
                "blocked_by": [],
            },
        )
        entry["blocked_by"].append(
            {"id": row[4], "title": row[5], "status": row[6], "assignee_id": row[7]}
        )
    return list(entries.values())


def _sprints(
    session: Session, ctx: RequestContext, project_id: str
) -> tuple[list[JsonDict], list[JsonDict]]:
    """Running and planned sprints with their points and burndown; then the finished ones,
    latest first, with the velocity recorded at completion."""
    finished_states = {SprintStatus.COMPLETED, SprintStatus.CANCELLED}
    running, finished = [], []
    for sprint in list_sprints(session, ctx, project_id=project_id):
        if sprint["status"] in finished_states:
            finished.append(sprint)
            continue
        report = get_sprint_report(session, ctx, sprint_id=sprint["id"])
        running.append(
            {
                **sprint,
                "points_committed": report["points_committed"],
                "points_done": report["points_done"],
                "items": len(report["work_items"]),
                "burndown": report["burndown"],
            }
        )
    finished.sort(key=lambda s: s["completed_at"] or s["updated_at"], reverse=True)
    return running, finished


def _velocity(sprints: Sequence[JsonDict]) -> JsonDict:
    recorded = [
        s["velocity"]
        for s in sprints
        if s["status"] == SprintStatus.COMPLETED and s["velocity"] is not None
    ][:VELOCITY_WINDOW]
    return {
        "recent_average": round(mean(recorded), 1) if recorded else None,
        "sprints_averaged": len(recorded),
    }


def _truncation(project_id: str, cut: dict[str, tuple[int, int]]) -> JsonDict:
    parts = [f"{shown} of {total} {what}" for what, (shown, total) in cut.items() if total > shown]
    if not parts:
        return {"truncated": False, "truncation_note": None}
    metrics.BOUND_HITS.labels("context_items").inc()
    return {
        "truncated": True,
        "truncation_note": (
            "bounded answer: showing "
            + "; ".join(parts)
            + f". Page through GET /api/v1/work-items?project_id={project_id} for every item"
            " and GET /api/v1/work-items/{id} for one item in full."
        ),
    }


def _recent_activity(session: Session, project_id: str, limit: int) -> list[JsonDict]:
    if limit <= 0:
        return []
    rows = session.exec(
        select(ActivityLog)
        .where(ActivityLog.project_id == project_id)
        .order_by(col(ActivityLog.id).desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": row.at,
            "user_id": row.user_id,
            "action": row.action,
            "entity_type": row.entity_type,
            "entity_id": row.entity_id,
            "field_name": row.field_name,
            "old_value": clip(row.old_value),
            "new_value": clip(row.new_value),
            "seq": row.seq,
        }
        for row in rows
    ]


def work_item_detail(session: Session, ctx: RequestContext, *, work_item_id: str) -> JsonDict:
    """One item with its children, comments, time totals, dependencies and recent activity."""
    item = get_work_item(session, ctx, work_item_id=work_item_id)
    rows = session.exec(
        select(WorkItem)
        .where(WorkItem.parent_id == item["id"], col(WorkItem.deleted_at).is_(None))
        .order_by(col(WorkItem.position), col(WorkItem.id))
    ).all()
    blocked = blocked_among(session, [row.id for row in rows])
    time = get_time_entries(session, ctx, work_item_id=work_item_id)
    activity = get_activity(
        session,
        ctx,
        page=PageRequest(limit=ITEM_ACTIVITY),
        project_id=item["project_id"],
        entity_id=work_item_id,
    )
    return {
        "work_item": item,
        "children": [work_item_view(row, is_blocked=row.id in blocked) for row in rows],
        "comments": get_comments(session, ctx, work_item_id=work_item_id),
        "time_total_seconds": time["total_seconds"],
        "time_by_user": time["by_user"],
        "dependencies": get_dependencies(session, ctx, work_item_id=work_item_id),
        "activity": activity.items,
    }
