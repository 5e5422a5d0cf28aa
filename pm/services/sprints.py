"""Sprints: planned -> active -> completed (or cancelled from planned or active).

At most one active sprint per project (also a partial unique index). Completing records the
velocity (points of done items) and the committed points, and sends unfinished items to the
backlog or to a named next sprint; every moved item gets its own event so boards stay exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pm.domain.enums import Role, SprintStatus
from pm.domain.events import Outcome
from pm.domain.models import Sprint, WorkItem
from pm.errors import NotFound, ValidationFailed
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_project, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import refuse_collisions
from pm.services.kernel.scope import Scope
from pm.services.kernel.unit_of_work import FieldChange, UnitOfWork
from pm.services.views import sprint_view
from pm.services.work_items import change_on_the_side

UPDATABLE_FIELDS = frozenset({"name", "goal", "start_date", "end_date"})
CLOSED = (SprintStatus.COMPLETED.value, SprintStatus.CANCELLED.value)


def require_sprint_role(scope: Scope, sprint_id: object, needed: Role) -> Sprint:
    """The live sprint, if the caller has ``needed`` in its project (else NOT_FOUND, as if it
    did not exist)."""
    return require_row_role(
        scope, scope.sprints, sprint_id, needed, field="sprint_id", what="sprint"
    )


def _editable(uow: UnitOfWork, sprint_id: str, expected_version: int) -> tuple[Sprint, int]:
    sprint = require_sprint_role(uow, sprint_id, Role.EDITOR)
    return sprint, v.expected_version(expected_version)


def _check_dates(start: str | None, end: str | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed("end_date can't be before start_date", field="end_date")


def _updated(uow: UnitOfWork, sprint: Sprint, changes: list[FieldChange]) -> Outcome:
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
    project_id = require_project(uow, project_id, Role.EDITOR)
    sprint_id = fresh_id(uow.sprints, id) if id else new_id()
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
        **uow.stamps(),
    )
    uow.create(sprint, entity_type="sprint", project_id=project_id)
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
    refuse_collisions(uow, sprint, version, wanted, lambda: sprint_view(sprint))
    changes = uow.apply_fields(
        sprint, wanted, entity_type="sprint", project_id=sprint.project_id, action="updated"
    )
    if not changes:
        return Outcome("sprint_updated", {"sprint": sprint_view(sprint), "changes": []})
    return _updated(uow, sprint, changes)


def _transition(
    uow: UnitOfWork, sprint: Sprint, version: int, status: SprintStatus, extra: dict[str, Any]
) -> list[FieldChange]:
    """Status changes collide with any change since the caller's version."""
    refuse_collisions(uow, sprint, version, {"status": status.value}, lambda: sprint_view(sprint))
    action = {SprintStatus.ACTIVE: "started", SprintStatus.COMPLETED: "completed"}.get(
        status, status.value
    )
    return uow.apply_fields(
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
    if uow.sprints.active_in_project(sprint.project_id) is not None:
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
    target = _next_sprint(uow, sprint, move_unfinished_to)
    items = uow.items.live_in_sprint(sprint.id)
    workflow = uow.states.workflow(sprint.project_id)
    points = {
        "velocity": sum(i.story_points or 0 for i in items if workflow.is_completed(i.status)),
        "committed_points": sum(i.story_points or 0 for i in items),
        "completed_at": uow.now,
    }
    changes = _transition(uow, sprint, version, SprintStatus.COMPLETED, points)
    outcome = _updated(uow, sprint, changes)
    _release_items(uow, [i for i in items if not workflow.is_completed(i.status)], target)
    return outcome


def cancel_sprint(uow: UnitOfWork, *, sprint_id: str, expected_version: int) -> Outcome:
    sprint, version = _editable(uow, sprint_id, expected_version)
    if sprint.status in CLOSED:
        raise ValidationFailed(f"the sprint is already {sprint.status}", field="status")
    items = uow.items.live_in_sprint(sprint.id)
    changes = _transition(uow, sprint, version, SprintStatus.CANCELLED, {"completed_at": uow.now})
    outcome = _updated(uow, sprint, changes)
    _release_items(uow, items, None)
    return outcome


def delete_sprint(uow: UnitOfWork, *, sprint_id: str, expected_version: int) -> Outcome:
    sprint, version = _editable(uow, sprint_id, expected_version)
    if sprint.status != SprintStatus.PLANNED:
        raise ValidationFailed("only a planned sprint can be deleted", field="status")
    refuse_collisions(uow, sprint, version, {"status": sprint.status}, lambda: sprint_view(sprint))
    if version != sprint.version:
        refuse_collisions(
            uow, sprint, version, dict.fromkeys(UPDATABLE_FIELDS), lambda: sprint_view(sprint)
        )
    items = uow.items.live_in_sprint(sprint.id)
    uow.soft_delete(sprint, entity_type="sprint", project_id=sprint.project_id)
    outcome = uow.respond(
        uow.emit(
            "sprint_deleted",
            sprint.project_id,
            {"sprint_id": sprint.id, "project_id": sprint.project_id},
        )
    )
    _release_items(uow, items, None)
    return outcome


def _next_sprint(uow: UnitOfWork, sprint: Sprint, target_id: str | None) -> Sprint | None:
    if not target_id:
        return None
    target = uow.sprints.get(target_id)
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
        change_on_the_side(uow, item, {"sprint_id": target_id}, action="updated")
