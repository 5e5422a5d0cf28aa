"""Sprints of a project."""

from __future__ import annotations

from sqlmodel import col

from pm.domain.models import Sprint
from pm.repositories.base import Entities

_ACTIVE_IN_PROJECT = (
    "SELECT id FROM sprints WHERE project_id = ? AND status = 'active' AND deleted_at IS NULL"
)


class SprintRepository(Entities[Sprint]):
    model = Sprint

    def live_in_project(self, project_id: str) -> list[Sprint]:
        """By start date (undated first), then creation."""
        return self._live(
            Sprint.project_id == project_id,
            order_by=(col(Sprint.start_date), col(Sprint.created_at), col(Sprint.id)),
        )

    def active_in_project(self, project_id: str) -> str | None:
        """The id of the project's active sprint, if it has one."""
        sprint_id: str | None = self._scalar(_ACTIVE_IN_PROJECT, (project_id,))
        return sprint_id
