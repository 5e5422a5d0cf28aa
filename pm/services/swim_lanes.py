"""Swim lanes of a project's board: one live lane per workflow state (its ``status_value`` is a
live state's key); default lanes can be renamed and reordered, never deleted on their own, and
go with their state when it is deleted."""

from __future__ import annotations

from typing import Any

from pm.domain.enums import Role, Status
from pm.domain.events import Outcome
from pm.domain.models import SwimLane
from pm.domain.ordering import spread_keys
from pm.errors import ValidationFailed
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_project, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import refuse_collisions
from pm.services.kernel.placing import position_among
from pm.services.kernel.reader import Reader
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import SwimLaneView, swim_lane_view
from pm.services.workflows import require_state

DEFAULT_LANES: tuple[tuple[str, Status], ...] = (
    ("To Do", Status.TODO),
    ("In Progress", Status.IN_PROGRESS),
    ("Review", Status.REVIEW),
    ("Done", Status.DONE),
)


def create_default_lanes(uow: UnitOfWork, project_id: str) -> list[SwimLane]:
    """The lanes every new project starts with, recorded in the project's creation activity."""
    lanes = []
    for (name, status), position in zip(
        DEFAULT_LANES, spread_keys(len(DEFAULT_LANES)), strict=True
    ):
        lane = SwimLane(
            id=new_id(),
            project_id=project_id,
            name=name,
            status_value=status.value,
            position=position,
            is_default=True,
            **uow.stamps(),
        )
        uow.create(lane, entity_type="swim_lane", project_id=project_id)
        lanes.append(lane)
    return lanes


def _live_lane(uow: UnitOfWork, swim_lane_id: object) -> SwimLane:
    return require_row_role(
        uow, uow.lanes, swim_lane_id, Role.ADMIN, field="swim_lane_id", what="swim lane"
    )


def create_swim_lane(
    uow: UnitOfWork,
    *,
    project_id: str,
    name: str,
    status_value: str,
    after_id: str | None = None,
    id: str | None = None,
) -> Outcome:
    project_id = require_project(uow, project_id, Role.ADMIN)
    status = require_state(uow.states.workflow(project_id), status_value, "status_value")
    lanes = uow.lanes.live_in_project(project_id)
    if any(lane.status_value == status for lane in lanes):
        raise ValidationFailed(
            "the project already has a lane for this status", field="status_value"
        )
    lane_id = fresh_id(uow.lanes, id) if id else new_id()
    lane = SwimLane(
        id=lane_id,
        project_id=project_id,
        name=v.text(name, "name", min_len=1, max_len=100),
        status_value=status,
        position=position_among(lanes, None, after_id, None, what="lane"),
        is_default=False,
        **uow.stamps(),
    )
    uow.create(lane, entity_type="swim_lane", project_id=project_id)
    return uow.respond(
        uow.emit("swim_lane_created", project_id, {"swim_lane": swim_lane_view(lane)})
    )


def update_swim_lane(
    uow: UnitOfWork,
    *,
    swim_lane_id: str,
    expected_version: int,
    name: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
) -> Outcome:
    """Rename and/or reorder a lane (default lanes too)."""
    lane = _live_lane(uow, swim_lane_id)
    version = v.expected_version(expected_version)
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = v.text(name, "name", min_len=1, max_len=100)
    if after_id or before_id:
        wanted["position"] = position_among(
            uow.lanes.live_in_project(lane.project_id), lane.id, after_id, before_id, what="lane"
        )
    refuse_collisions(uow, lane, version, wanted, lambda: swim_lane_view(lane))
    changes = uow.apply_fields(
        lane, wanted, entity_type="swim_lane", project_id=lane.project_id, action="updated"
    )
    payload = {"swim_lane": swim_lane_view(lane), "changes": changes}
    if not changes:
        return Outcome("swim_lane_updated", payload)
    return uow.respond(uow.emit("swim_lane_updated", lane.project_id, payload))


def delete_swim_lane(uow: UnitOfWork, *, swim_lane_id: str) -> Outcome:
    lane = _live_lane(uow, swim_lane_id)
    if lane.is_default:
        raise ValidationFailed(
            "default lanes can be renamed and reordered, not deleted", field="swim_lane_id"
        )
    uow.soft_delete(lane, entity_type="swim_lane", project_id=lane.project_id)
    payload = {"swim_lane_id": lane.id, "project_id": lane.project_id}
    return uow.respond(uow.emit("swim_lane_deleted", lane.project_id, payload))


def delete_lanes_of(uow: UnitOfWork, project_id: str, status_value: str) -> None:
    """The lanes of a state being deleted go with it, each with its ``swim_lane_deleted``."""
    for lane in uow.lanes.live_in_project(project_id):
        if lane.status_value == status_value:
            uow.soft_delete(lane, entity_type="swim_lane", project_id=project_id)
            payload = {"swim_lane_id": lane.id, "project_id": project_id}
            uow.emit("swim_lane_deleted", project_id, payload)


def lanes_of(read: Reader, project_id: str) -> list[SwimLaneView]:
    """The lanes of a project the caller may view, in board order."""
    return [swim_lane_view(lane) for lane in read.lanes.live_in_project(project_id)]
