"""A sprint with its items, points committed and done, and a daily burndown: ``GET
/api/v1/sprints/{id}``, and each running sprint of the project context."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict

from pm.domain.enums import Role
from pm.domain.models import Sprint, WorkItem
from pm.domain.workflow import Workflow
from pm.services.kernel.reader import Reader
from pm.services.sprints import require_sprint_role
from pm.services.views import SprintView, WorkItemView, sprint_view
from pm.services.work_items import item_views


class BurndownPoint(TypedDict):
    date: str  # YYYY-MM-DD
    remaining_points: int  # not done at the end of that day


class SprintReport(TypedDict):
    sprint: SprintView
    work_items: list[WorkItemView]
    points_committed: int
    points_done: int
    burndown: list[BurndownPoint]


def get_sprint_report(read: Reader, *, sprint_id: str) -> SprintReport:
    """The sprint, its items, committed and done points, and a daily burndown."""
    return sprint_report(read, require_sprint_role(read, sprint_id, Role.VIEWER))


def sprint_report(read: Reader, sprint: Sprint) -> SprintReport:
    """The report of a sprint the caller may view."""
    items = read.items.live_in_sprint(sprint.id)
    workflow = read.states.workflow(sprint.project_id)
    return {
        "sprint": sprint_view(sprint),
        "work_items": item_views(read, items),
        "points_committed": sum(i.story_points or 0 for i in items),
        "points_done": sum(i.story_points or 0 for i in items if workflow.is_completed(i.status)),
        "burndown": _burndown(read, sprint, items, workflow),
    }


def _burndown(
    read: Reader, sprint: Sprint, items: list[WorkItem], workflow: Workflow
) -> list[BurndownPoint]:
    """Remaining points at the end of each day, replaying status changes of today's items.

    Simplification worth knowing: items that left the sprint before today are not counted.
    """
    if sprint.start_date is None:
        return []
    first = date.fromisoformat(sprint.start_date)
    last = min(date.fromisoformat(sprint.end_date or sprint.start_date), date.today())
    if last < first:
        return []
    points = {i.id: i.story_points or 0 for i in items}
    never = 2**62
    done_since: dict[str, int] = dict.fromkeys(points, never)
    for row in read.activity_log.status_changes(list(points)):
        done_since[row.entity_id] = row.at if workflow.is_completed(row.new_value) else never
    for item in items:
        if workflow.is_completed(item.status) and done_since[item.id] == never:
            done_since[item.id] = item.created_at
    series: list[BurndownPoint] = []
    day = first
    while day <= last:
        day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        end_ms = int(day_end.timestamp() * 1000)
        remaining = sum(pts for item_id, pts in points.items() if done_since[item_id] >= end_ms)
        series.append({"date": day.isoformat(), "remaining_points": remaining})
        day += timedelta(days=1)
    return series
