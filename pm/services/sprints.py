"""Sprints: planned -> active -> completed (or cancelled from planned or active).

At most one active sprint per project (also a partial unique index). Completing records the
velocity (points of done items) and the committed points, and sends unfinished items to the
backlog or to a named next sprint; every moved item gets its own event so boards stay exact.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pm.domain.enums import Role, SprintStatus, Status
from pm.domain.events import JsonDict, Outcome
from pm.domain.models import ActivityLog, Sprint, WorkItem
from pm.errors import NotFound, ValidationFailed
from pm.services import validation as v
from pm.services.access import require_role
from pm.services.blocking import blocked_among
from pm.services.clock import new_id
from pm.services.context import RequestContext
from pm.services.merge import apply_fields, refuse_collisions
from pm.services.unit_of_work import UnitOfWork
from pm.services.views import sprint_view, work_item_view

UPDATABLE_FIELDS = frozenset({"name", "goal", "start_date", "end_date"})
CLOSED = (SprintStatus.COMPLETED.value, SprintStatus.CANCELLED.value)


def _live_sprint(session: Session, sprint_id: object) -> Sprint:
    if not isinstance(sprint_id, str) or not sprint_id:
        raise ValidationFailed("sprint_id is required", field="sprint_id")
    sprint = session.get(Sprint, sprint_id)
    if sprint is None or sprint.deleted_at is not None:
        raise NotFound("sprint not found", field="sprint_id")
    return sprint


def _editable(uow: UnitOfWork, sprint_id: str, expected_version: int) -> tuple[Sprint, int]:
    sprint = _live_sprint(uow.session, sprint_id)
    try:
        require_role(uow.session, uow.ctx, sprint.project_id, Role.EDITOR)
    except NotFound:
        raise NotFound("sprint not found", field="sprint_id") from None
    return sprint, v.expected_version(expected_version)


def _check_dates(start: str | None, end: str | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed("end_date can't be before start_date", field="end_date")


def _sprint_items(session: Session, sprint_id: str) -> list[WorkItem]:
    return list(
        session.exec(
            select(WorkItem)
            .where(WorkItem.sprint_id == sprint_id, col(WorkItem.deleted_at).is_(None))
            .order_by(col(WorkItem.position), col(WorkItem.id))
        ).all()
    )


def _updated(uow: UnitOfWork, sprint: Sprint, changes: list[JsonDict]) -> Outcome:
    event = uow.emit(
        "sprint_updated", sprint.project_id, {"sprint": sprint_view(sprint), "changes": changes}
    )
    return uow.respond(event)


def create_sprint(
    uow: UnitOfWork,
    *,
    project_id: str,
    name: str,
    goal: str = "",
    start_date: str | None = None,
    end_date: str | None = None,
    id: str | None = None,
) -> Outcome:
    session = uow.session
    require_role(session, uow.ctx, project_id, Role.EDITOR)
    sprint_id = v.entity_id(id, "id") if id else new_id()
    if session.get(Sprint, sprint_id) is not None:
        raise ValidationFailed("an entity with this id already exists", field="id")
    start, end = v.iso_date(start_date, "start_date"), v.iso_date(end_date, "end_date")
    _check_dates(start, end)
    sprint = Sprint(
        id=sprint_id,
        project_id=project_id,
        name=v.text(name, "name", min_len=1, max_len=100),
        goal=v.text(goal, "goal", max_len=5000),
        start_date=start,
        end_date=end,
        status=SprintStatus.PLANNED.value,
        created_at=uow.now,
        created_by=uow.ctx.user_id,
        updated_at=uow.now,
        updated_by=uow.ctx.user_id,
    )
    session.add(sprint)
    uow.activity(
        entity_type="sprint",
        entity_id=sprint.id,
        project_id=project_id,
        action="created",
        version=1,
    )
    return uow.respond(uow.emit("sprint_created", project_id, {"sprint": sprint_view(sprint)}))


def update_sprint(
    uow: UnitOfWork, *, sprint_id: str, expected_version: int, fields: dict[str, Any]
) -> Outcome:
    sprint, version = _editable(uow, sprint_id, expected_version)
    v.known_fields(fields, UPDATABLE_FIELDS)
    cleaners: dict[str, Callable[[Any], Any]] = {
        "name": lambda value: v.text(value, "name", min_len=1, max_len=100),
        "goal": lambda value: v.text(value, "goal", max_len=5000),
        "start_date": lambda value: v.iso_date(value, "start_date"),
        "end_date": lambda value: v.iso_date(value, "end_date"),
    }
    wanted = {name: cleaners[name](value) for name, value in fields.items()}
    _check_dates(
        wanted.get("start_date", sprint.start_date), wanted.get("end_date", sprint.end_date)
    )
    if sprint.status == SprintStatus.ACTIVE and any(
        name in wanted and wanted[name] is None for name in ("start_date", "end_date")
    ):
        raise ValidationFailed("an active sprint keeps both dates", field="start_date")
    refuse_collisions(uow.session, sprint, version, wanted, lambda: sprint_view(sprint))
    changes = apply_fields(
        uow, sprint, wanted, entity_type="sprint", project_id=sprint.project_id, action="updated"
    )
    if not changes:
        return Outcome("sprint_updated", {"sprint": sprint_view(sprint), "changes": []})
    return _updated(uow, sprint, changes)


def _transition(
    uow: UnitOfWork, sprint: Sprint, version: int, status: SprintStatus, extra: dict[str, Any]
) -> list[JsonDict]:
    """Status changes collide with any change since the caller's version."""
    refuse_collisions(
        uow.session, sprint, version, {"status": status.value}, lambda: sprint_view(sprint)
    )
    action = {SprintStatus.ACTIVE: "started", SprintStatus.COMPLETED: "completed"}.get(
        status, status.value
    )
    return apply_fields(
        uow,
        sprint,
        {"status": status.value, **extra},
        entity_type="sprint",
        project_id=sprint.project_id,
        action=action,
    )


def start_sprint(uow: UnitOfWork, *, sprint_id: str, expected_version: int) -> Outcome:
    sprint, version = _editable(uow, sprint_id, expected_version)
    if sprint.status != SprintStatus.PLANNED:
        raise ValidationFailed(
            f"only a planned sprint can start; it is {sprint.status}", field="status"
        )
    if sprint.start_date is None or sprint.end_date is None:
        raise ValidationFailed("a sprint needs both dates to start", field="start_date")
    active = uow.session.exec(
        select(Sprint.id).where(
            Sprint.project_id == sprint.project_id,
            Sprint.status == SprintStatus.ACTIVE.value,
            col(Sprint.deleted_at).is_(None),
        )
    ).first()
    if active is not None:
        raise ValidationFailed("the project already has an active sprint", field="status")
    changes = _transition(uow, sprint, version, SprintStatus.ACTIVE, {"started_at": uow.now})
    return _updated(uow, sprint, changes)


def complete_sprint(
    uow: UnitOfWork,
    *,
    sprint_id: str,
    expected_version: int,
    move_unfinished_to: str | None = None,
) -> Outcome:
    sprint, version = _editable(uow, sprint_id, expected_version)
    if sprint.status != SprintStatus.ACTIVE:
        raise ValidationFailed(
            f"only an active sprint completes; it is {sprint.status}", field="status"
        )
    target = _next_sprint(uow.session, sprint, move_unfinished_to)
    items = _sprint_items(uow.session, sprint.id)
    points = {
        "velocity": sum(i.story_points or 0 for i in items if i.status == Status.DONE),
        "committed_points": sum(i.story_points or 0 for i in items),
        "completed_at": uow.now,
    }
    changes = _transition(uow, sprint, version, SprintStatus.COMPLETED, points)
    outcome = _updated(uow, sprint, changes)
    _release_items(uow, [i for i in items if i.status != Status.DONE], target)
    return outcome


def cancel_sprint(uow: UnitOfWork, *, sprint_id: str, expected_version: int) -> Outcome:
    sprint, version = _editable(uow, sprint_id, expected_version)
    if sprint.status in CLOSED:
        raise ValidationFailed(f"the sprint is already {sprint.status}", field="status")
    items = _sprint_items(uow.session, sprint.id)
    changes = _transition(uow, sprint, version, SprintStatus.CANCELLED, {"completed_at": uow.now})
    outcome = _updated(uow, sprint, changes)
    _release_items(uow, items, None)
    return outcome


def delete_sprint(uow: UnitOfWork, *, sprint_id: str, expected_version: int) -> Outcome:
    sprint, version = _editable(uow, sprint_id, expected_version)
    if sprint.status != SprintStatus.PLANNED:
        raise ValidationFailed("only a planned sprint can be deleted", field="status")
    refuse_collisions(
        uow.session, sprint, version, {"status": sprint.status}, lambda: sprint_view(sprint)
    )
    if version != sprint.version:
        refuse_collisions(
            uow.session,
            sprint,
            version,
            dict.fromkeys(UPDATABLE_FIELDS),
            lambda: sprint_view(sprint),
        )
    items = _sprint_items(uow.session, sprint.id)
    sprint.deleted_at = uow.now
    sprint.version += 1
    sprint.updated_at = uow.now
    sprint.updated_by = uow.ctx.user_id
    uow.session.add(sprint)
    uow.activity(
        entity_type="sprint",
        entity_id=sprint.id,
        project_id=sprint.project_id,
        action="deleted",
        version=sprint.version,
    )
    outcome = uow.respond(
        uow.emit(
            "sprint_deleted",
            sprint.project_id,
            {"sprint_id": sprint.id, "project_id": sprint.project_id},
        )
    )
    _release_items(uow, items, None)
    return outcome


def _next_sprint(session: Session, sprint: Sprint, target_id: str | None) -> Sprint | None:
    if not target_id:
        return None
    target = session.get(Sprint, target_id)
    if target is None or target.deleted_at is not None or target.project_id != sprint.project_id:
        raise NotFound("no such sprint in this project", field="move_unfinished_to")
    if target.id == sprint.id or target.status in CLOSED:
        raise ValidationFailed(
            "unfinished items can only move to another planned or active sprint",
            field="move_unfinished_to",
        )
    return target


def _release_items(uow: UnitOfWork, items: list[WorkItem], target: Sprint | None) -> None:
    """Move items out of a closing sprint, one event each (after the sprint's own event)."""
    target_id = target.id if target else None
    for item in items:
        changes = apply_fields(
            uow,
            item,
            {"sprint_id": target_id},
            entity_type="work_item",
            project_id=item.project_id,
            action="updated",
        )
        if changes:
            uow.session.flush()
            blocked = item.id in blocked_among(uow.session, [item.id])
            uow.emit(
                "work_item_updated",
                item.project_id,
                {"work_item": work_item_view(item, is_blocked=blocked), "changes": changes},
            )


# -- queries -------------------------------------------------------------------------------


def list_sprints(session: Session, ctx: RequestContext, *, project_id: str) -> list[JsonDict]:
    require_role(session, ctx, project_id, Role.VIEWER)
    rows = session.exec(
        select(Sprint)
        .where(Sprint.project_id == project_id, col(Sprint.deleted_at).is_(None))
        .order_by(col(Sprint.start_date), col(Sprint.created_at), col(Sprint.id))
    ).all()
    return [sprint_view(row) for row in rows]


def get_sprint_report(session: Session, ctx: RequestContext, *, sprint_id: str) -> JsonDict:
    """The sprint, its items, committed and done points, and a daily burndown."""
    sprint = _live_sprint(session, sprint_id)
    try:
        require_role(session, ctx, sprint.project_id, Role.VIEWER)
    except NotFound:
        raise NotFound("sprint not found", field="sprint_id") from None
    items = _sprint_items(session, sprint.id)
    blocked = blocked_among(session, [i.id for i in items])
    committed = sum(i.story_points or 0 for i in items)
    done = sum(i.story_points or 0 for i in items if i.status == Status.DONE)
    return {
        "sprint": sprint_view(sprint),
        "work_items": [work_item_view(i, is_blocked=i.id in blocked) for i in items],
        "points_committed": committed,
        "points_done": done,
        "burndown": _burndown(session, sprint, items),
    }


def _burndown(session: Session, sprint: Sprint, items: list[WorkItem]) -> list[JsonDict]:
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
    history = session.exec(
        select(ActivityLog)
        .where(col(ActivityLog.entity_id).in_(list(points)), ActivityLog.field_name == "status")
        .order_by(col(ActivityLog.id))
    ).all()
    for row in history:
        done_since[row.entity_id] = row.at if row.new_value == Status.DONE else never
    for item in items:
        if item.status == Status.DONE and done_since[item.id] == never:
            done_since[item.id] = item.created_at
    series = []
    day = first
    while day <= last:
        day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        end_ms = int(day_end.timestamp() * 1000)
        remaining = sum(pts for item_id, pts in points.items() if done_since[item_id] >= end_ms)
        series.append({"date": day.isoformat(), "remaining_points": remaining})
        day += timedelta(days=1)
    return series
