"""The agent's view of one project in one read: what its state is, what is blocked, who works on
what, how the sprint goes (``GET /api/v1/projects/{id}/context``).

It is bounded whatever the project's size, so an agent can always afford it:

- at most ``max_items`` work items (the service's ``context_max_items`` when none is asked for,
  and never more), chosen by relevance (by the category of their state:
  started, review, unstarted, backlog, completed, cancelled; higher levels first; then board
  order) and always with their ancestors, so the kept
  items form one connected tree; counts still cover every item;
- at most ``max_items`` blocked items, dependencies and members, the running and planned
  sprints plus the last ``FINISHED_SPRINTS`` finished ones, and ``recent_activity`` rows;
- free text (descriptions, activity values) clipped to ``TEXT_CHARS`` characters.

``truncated`` and ``truncation_note`` say what was left out and where to page for the rest.
One read transaction gives one consistent snapshot, stamped with the change-feed ``as_of_seq``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from statistics import mean
from typing import Any, TypedDict

from pm.domain.enums import Role, SprintStatus
from pm.domain.models import WorkItem
from pm.domain.workflow import Workflow
from pm.observability import metrics
from pm.services.dependencies import project_dependencies
from pm.services.item_fields import extras_of
from pm.services.kernel.access import require_project
from pm.services.kernel.pagination import PageRequest
from pm.services.kernel.reader import Reader
from pm.services.members import members_page
from pm.services.read_models.cycle_time import CycleTimeSummary, cycle_time_report
from pm.services.read_models.sprint_report import BurndownPoint, sprint_report
from pm.services.swim_lanes import lanes_of
from pm.services.views import (
    CustomFieldView,
    DependencyView,
    FieldValue,
    LabelView,
    MemberView,
    SprintView,
    StateView,
    SwimLaneView,
    WorkItemView,
    custom_field_view,
    label_view,
    sprint_view,
    utc_today,
)
from pm.services.work_items import item_view
from pm.services.workflow_states import states_of

TEXT_CHARS = 280
FINISHED_SPRINTS = 10
VELOCITY_WINDOW = 3


class ContextLimits(TypedDict):
    max_items: int  # most work items (and blocked items, dependencies, members)
    text_chars: int  # longest free text before it is clipped
    recent_activity: int
    finished_sprints: int


class PointCounts(TypedDict):
    total: int
    done: int


class Counts(TypedDict):
    """Over every live item below the project, whatever was kept."""

    items: int
    blocked: int
    by_status: dict[str, int]
    by_category: dict[str, int]  # the same items by their state's category
    by_type: dict[str, int]
    by_assignee: dict[str, dict[str, int]]  # per assignee id: "total" and a count per status
    story_points: PointCounts


class RunningSprint(SprintView):
    """A running or planned sprint, with its live figures (a finished one is a SprintView)."""

    points_committed: int
    points_done: int
    items: int
    burndown: list[BurndownPoint]


class Velocity(TypedDict):
    recent_average: float | None
    sprints_averaged: int


class BlockRef(TypedDict):
    id: str
    key: str
    title: str
    status: str
    assignee_id: str | None


class BlockedItem(BlockRef):
    blocked_by: list[BlockRef]


class ContextItem(TypedDict):
    """A work item in the context: the tree fields, description clipped."""

    id: str
    key: str
    item_type: str
    parent_id: str | None
    depth: int  # 0 for the project's direct children, +1 per level
    title: str
    description: str | None
    status: str
    priority: str
    assignee_id: str | None
    story_points: int | None
    sprint_id: str | None
    position: str
    is_blocked: bool
    version: int
    updated_at: int
    start_date: str | None
    due_date: str | None
    is_overdue: bool
    labels: list[str]  # label names
    custom_fields: dict[str, FieldValue]  # field name -> value


class ContextActivity(TypedDict):
    at: int
    user_id: str
    action: str
    entity_type: str
    entity_id: str
    field_name: str | None
    old_value: str | None
    new_value: str | None
    seq: int | None


class Truncation(TypedDict):
    truncated: bool
    truncation_note: str | None  # what was left out, and where to page for it


class ProjectContext(Truncation):
    project: WorkItemView
    as_of_seq: int
    limits: ContextLimits
    counts: Counts
    sprints: list[RunningSprint | SprintView]
    velocity: Velocity
    cycle_time: CycleTimeSummary
    blocked_items: list[BlockedItem]
    work_items: list[ContextItem]
    dependencies: list[DependencyView]
    members: list[MemberView]
    states: list[StateView]  # the project's workflow states, in board order
    swim_lanes: list[SwimLaneView]
    labels: list[LabelView]
    custom_fields: list[CustomFieldView]
    recent_activity: list[ContextActivity]


def clip(text: str | None, limit: int = TEXT_CHARS) -> str | None:
    """Free text cut to ``limit`` characters, marked with an ellipsis when cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def project_context(
    read: Reader, *, project_id: str, max_items: int | None = None
) -> ProjectContext:
    """Everything an agent needs about one project, bounded as the module docstring says."""
    project_id = require_project(read, project_id, Role.VIEWER)
    bound = read.settings.context_max_items
    max_items = min(max_items or bound, bound)
    recent_activity = read.settings.context_recent_activity
    blocked_ids = read.dependencies.blocked_in_project(project_id)
    workflow = read.states.workflow(project_id)
    counts = _counts(read, project_id, workflow, blocked=len(blocked_ids))
    kept = _tree_order(_relevant(read, project_id, workflow, max_items, blocked_ids), project_id)
    labels = read.labels.live_in_project(project_id)
    fields = read.custom_fields.live_in_project(project_id)
    _name_extras(read, kept, {row.id: row.name for row in labels}, {f.id: f.name for f in fields})
    blocked = _blocked_items(read, project_id, blocked_ids)
    bounded = PageRequest(limit=max_items, max_bytes=read.settings.max_response_bytes)
    dependencies = project_dependencies(read, project_id, limit=max_items).rows
    members = members_page(read, project_id, bounded)["members"]
    running, finished = _sprints(read, project_id)
    sprints = running + finished[:FINISHED_SPRINTS]
    cut = {
        "work items": (len(kept), counts["items"]),
        "blocked items": (min(len(blocked), max_items), len(blocked)),
        "dependencies": (len(dependencies), read.dependencies.count_live_in_project(project_id)),
        "members": (len(members), read.members.count_live(project_id)),
        "finished sprints": (min(len(finished), FINISHED_SPRINTS), len(finished)),
    }
    return {
        "project": item_view(read, _live_project(read, project_id)),
        "as_of_seq": read.feed.current_seq(),
        "limits": {
            "max_items": max_items,
            "text_chars": TEXT_CHARS,
            "recent_activity": recent_activity,
            "finished_sprints": FINISHED_SPRINTS,
        },
        **_truncation(project_id, cut),
        "counts": counts,
        "sprints": sprints,
        "velocity": _velocity(sprints),
        "cycle_time": _cycle_time(read, project_id),
        "blocked_items": blocked[:max_items],
        "work_items": kept,
        "dependencies": dependencies,
        "members": members,
        "states": states_of(read, project_id),
        "swim_lanes": lanes_of(read, project_id),
        "labels": [label_view(row) for row in labels],
        "custom_fields": [custom_field_view(row) for row in fields],
        "recent_activity": _recent_activity(read, project_id, recent_activity),
    }


def _live_project(read: Reader, project_id: str) -> WorkItem:
    project = read.items.get(project_id)
    assert project is not None  # the role check found it live
    return project


def _counts(read: Reader, project_id: str, workflow: Workflow, *, blocked: int) -> Counts:
    """Counts over every live item of the project, whatever was kept."""
    by_status: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_assignee: dict[str, Counter[str]] = defaultdict(Counter)
    points: Counter[str] = Counter()
    for status, item_type, assignee, count, story_points in read.items.counts_below(project_id):
        by_status[status] += count
        by_category[str(workflow.category_of(status))] += count
        by_type[item_type] += count
        by_assignee[assignee or "unassigned"][status] += count
        points[status] += story_points
    return {
        "items": sum(by_status.values()),
        "blocked": blocked,
        "by_status": dict(by_status),
        "by_category": dict(by_category),
        "by_type": dict(by_type),
        "by_assignee": {
            user: {"total": sum(statuses.values()), **statuses}
            for user, statuses in sorted(by_assignee.items())
        },
        "story_points": {
            "total": sum(points.values()),
            "done": sum(n for status, n in points.items() if workflow.is_completed(status)),
        },
    }


def _relevant(
    read: Reader, project_id: str, workflow: Workflow, budget: int, blocked_ids: set[str]
) -> list[ContextItem]:
    """The most relevant items, each preceded by its missing ancestors, up to ``budget``.

    Rows arrive ranked from SQL as plain tuples: on a 10,000-item project, SQLAlchemy's Row
    objects cost more than the query itself. Dicts are built only for the items kept."""
    rows = read.items.ranked_below(project_id, text_chars=TEXT_CHARS + 1)
    by_id = {row[0]: row for row in rows}
    kept: dict[str, ContextItem] = {}
    today = utc_today()
    for row in rows:
        chain = []
        node: tuple[Any, ...] | None = row
        while node is not None and node[0] not in kept:
            chain.append(node)
            node = by_id.get(node[1])
        if len(kept) + len(chain) > budget:
            break
        for link in chain:
            overdue = workflow.is_overdue(link[14], link[4], today)
            kept[link[0]] = _context_item(link, blocked_ids, overdue)
    return list(kept.values())


def _context_item(row: tuple[Any, ...], blocked_ids: set[str], overdue: bool) -> ContextItem:
    """A row of ``WorkItemRepository.ranked_below`` (its ``CONTEXT_COLUMNS``, then the cut
    description); ``depth`` is set when the tree is ordered."""
    return {
        "id": row[0],
        "parent_id": row[1],
        "item_type": row[2],
        "title": row[3],
        "status": row[4],
        "priority": row[5],
        "assignee_id": row[6],
        "story_points": row[7],
        "sprint_id": row[8],
        "position": row[9],
        "version": row[10],
        "updated_at": row[11],
        "key": row[12],
        "start_date": row[13],
        "due_date": row[14],
        "is_overdue": overdue,
        "description": clip(row[15]),
        "is_blocked": row[0] in blocked_ids,
        "depth": 0,
        "labels": [],
        "custom_fields": {},
    }


def _name_extras(
    read: Reader, items: list[ContextItem], label_names: dict[str, str], field_names: dict[str, str]
) -> None:
    """The kept items' labels and custom field values, by name (two statements)."""
    labels, values = extras_of(read, [item["id"] for item in items])
    for item in items:
        item["labels"] = sorted(label_names[i] for i in labels.get(item["id"], []))
        item["custom_fields"] = {
            field_names[field_id]: value for field_id, value in values.get(item["id"], {}).items()
        }


def _tree_order(items: list[ContextItem], project_id: str) -> list[ContextItem]:
    """Depth first, siblings by position; each item gets its ``depth`` below the project."""
    children: dict[str | None, list[ContextItem]] = defaultdict(list)
    for item in items:
        children[item["parent_id"]].append(item)
    ordered: list[ContextItem] = []
    stack = [(child, 0) for child in sorted(children[project_id], key=_position, reverse=True)]
    while stack:
        item, depth = stack.pop()
        item["depth"] = depth
        ordered.append(item)
        stack += [(c, depth + 1) for c in sorted(children[item["id"]], key=_position, reverse=True)]
    return ordered


def _position(item: ContextItem) -> tuple[str, str]:
    return item["position"], item["id"]


def _blocked_items(read: Reader, project_id: str, blocked_ids: set[str]) -> list[BlockedItem]:
    """The blocked items (``blocked_in_project`` decides which), each with every item that has
    a live ``blocks`` edge to it and that item's status."""
    entries: dict[str, BlockedItem] = {}
    for row in read.dependencies.blocks_in_project(project_id):
        if row[0] not in blocked_ids:
            continue
        entry = entries.setdefault(row[0], {**_block_ref(row[:5]), "blocked_by": []})
        entry["blocked_by"].append(_block_ref(row[5:]))
    return list(entries.values())


def _block_ref(row: tuple[Any, ...]) -> BlockRef:
    return {"id": row[0], "key": row[1], "title": row[2], "status": row[3], "assignee_id": row[4]}


def _sprints(read: Reader, project_id: str) -> tuple[list[RunningSprint], list[SprintView]]:
    """Running and planned sprints with their points and burndown; then the finished ones,
    latest first, with the velocity recorded at completion."""
    finished_states = {SprintStatus.COMPLETED, SprintStatus.CANCELLED}
    running: list[RunningSprint] = []
    finished: list[SprintView] = []
    for row in read.sprints.live_in_project(project_id):
        sprint = sprint_view(row)
        if sprint["status"] in finished_states:
            finished.append(sprint)
            continue
        report = sprint_report(read, row)
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


def _cycle_time(read: Reader, project_id: str) -> CycleTimeSummary:
    """Cycle and lead time of the default range (the last days up to today), figures only."""
    report = cycle_time_report(read, project_id)
    return {
        "since": report["since"],
        "until": report["until"],
        "cycle_time": report["cycle_time"],
        "lead_time": report["lead_time"],
        "has_more": report["has_more"],
    }


def _velocity(sprints: Sequence[RunningSprint | SprintView]) -> Velocity:
    recorded = [
        s["velocity"]
        for s in sprints
        if s["status"] == SprintStatus.COMPLETED and s["velocity"] is not None
    ][:VELOCITY_WINDOW]
    return {
        "recent_average": round(mean(recorded), 1) if recorded else None,
        "sprints_averaged": len(recorded),
    }


def _truncation(project_id: str, cut: dict[str, tuple[int, int]]) -> Truncation:
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


def _recent_activity(read: Reader, project_id: str, limit: int) -> list[ContextActivity]:
    if limit <= 0:
        return []
    rows = read.activity_log.latest_in_project(project_id, limit)
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
