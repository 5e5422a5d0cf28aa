"""Swim lanes of a project's board: one live lane per status; default lanes can be renamed and
reordered, never deleted."""

from __future__ import annotations

from pm.domain.enums import Status
from pm.domain.models import SwimLane
from pm.domain.ordering import spread_keys
from pm.services.clock import new_id
from pm.services.unit_of_work import UnitOfWork

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
            created_at=uow.now,
            created_by=uow.ctx.user_id,
            updated_at=uow.now,
            updated_by=uow.ctx.user_id,
        )
        uow.session.add(lane)
        uow.activity(
            entity_type="swim_lane",
            entity_id=lane.id,
            project_id=project_id,
            action="created",
            version=1,
        )
        lanes.append(lane)
    return lanes
