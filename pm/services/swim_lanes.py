"""Swim lanes of a project's board: one live lane per status; default lanes can be renamed and
reordered, never deleted."""

from __future__ import annotations

from typing import Any

from pm.domain.enums import Role, Status
from pm.domain.events import Outcome
from pm.domain.models import SwimLane
from pm.domain.ordering import key_between, spread_keys
from pm.errors import ValidationFailed
from pm.services.kernel import validation as v
from pm.services.kernel.access import fresh_id, require_project, require_row_role
from pm.services.kernel.ids import new_id
from pm.services.kernel.merge import refuse_collisions
from pm.services.kernel.reader import Reader
from pm.services.kernel.unit_of_work import UnitOfWork
from pm.services.views import SwimLaneView, swim_lane_view

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


def _position(
    lanes: list[SwimLane], moving: str | None, after_id: str | None, before_id: str | None
) -> str:
    """An order key after ``after_id`` and/or before ``before_id`` (default: last)."""
    others = [lane for lane in lanes if lane.id != moving]
    keys = {lane.id: index for index, lane in enumerate(others)}
    for name, ref in (("after_id", after_id), ("before_id", before_id)):
        if ref and ref not in keys:
            raise ValidationFailed(f"{name} is not a lane of this project", field=name)
    low: str | None = others[-1].position if others else None
    high: str | None = None
    if after_id:
        index = keys[after_id]
        following = others[index + 1] if index + 1 < len(others) else None
        if before_id and (following is None or following.id != before_id):
            raise ValidationFailed("after_id and before_id must be neighbours", field="before_id")
        low, high = others[index].position, following.position if following else None
    elif before_id:
        index = keys[before_id]
        low = others[index - 1].position if index > 0 else None
        high = others[index].position
    return key_between(low, high)


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
    status = v.choice(status_value, Status, "status_value")
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
        status_value=status.value,
        position=_position(lanes, None, after_id, None),
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
        wanted["position"] = _position(
            uow.lanes.live_in_project(lane.project_id), lane.id, after_id, before_id
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


def lanes_of(read: Reader, project_id: str) -> list[SwimLaneView]:
    """The lanes of a project the caller may view, in board order."""
    return [swim_lane_view(lane) for lane in read.lanes.live_in_project(project_id)]
